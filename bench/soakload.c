/* The load generator and answer checker of scripts/soak. It sends DNS queries to svcdns over UDP and TCP at
 * fixed rates for a fixed time, checks every answer against what the registry held while the query was in
 * flight, and opens and closes the loopback listeners of the health-checked endpoints itself, so it knows to
 * the microsecond when each endpoint was up. One thread, epoll, all on loopback.
 *
 * NAMES lists what to ask and what a right answer is, one line each (weights set the mix of queries):
 *   endpoint INDEX ADDRESS FLAPS           a listener on ADDRESS:--listen-port; FLAPS 1: opened and closed at random
 *   group INDEX E1,E2,...                  the endpoints of one headless Service
 *   stable WEIGHT NAME IP                  exactly one A record, IP
 *   nxdomain WEIGHT NAME                   NXDOMAIN, no answer records
 *   versioned WEIGHT NAME K CHURN WINDOW FILE
 *                                          one A record 10.B.V/256.V%256 where V is a version of tracked name K
 *                                          (B = 100 + K); with CHURN 1 the odd versions are deletions (NXDOMAIN);
 *                                          WINDOW in ms; FILE 1 when the name changes in a file, 0 through the API
 *   headless WEIGHT NAME GROUP             A records of the group's endpoints (see below)
 *   pod WEIGHT NAME ENDPOINT               the endpoint's A record, or NXDOMAIN while it is down
 * TABLE is a file the driver (scripts/soak) writes while this runs: for each tracked name K and version V, when
 * the change to V began (before the API request was sent, before the file was opened) and when it was
 * acknowledged (the API's answer read, the file closed), in CLOCK_MONOTONIC nanoseconds; 0 while not yet.
 *
 * What is right, for a query sent at s and answered at r:
 *   versioned: a version V with begin(V) <= r (never a change not yet made) and V >= the newest version
 *              acknowledged at or before s - WINDOW (never older than the change interval plus slack allows).
 *   headless and pod: an endpoint closed (refused) throughout [s - --down-ms, r] must not be answered; one listening
 *              throughout [s - --up-ms, r] must be; in between either is right. No address outside the group, no
 *              address twice. (Endpoints never all go down, so the fail-open rule never applies.)
 *   every answer: the ID and question of the query, QR and AA set, TC clear, opcode QUERY, no other record types.
 * A query unanswered after --timeout-ms is lost. At most --udp-window queries are in flight per UDP socket and
 * --tcp-window per TCP connection, as dnsperf bounds its own: a burst then cannot overflow svcdns's socket buffer
 * while it is off the CPU, so a lost query is one svcdns read and did not answer (or a stall past the timeout).
 *
 * Output, on stdout: `start T0` when the load begins, `row I UDP TCP ANSWERED LOST WRONG LATENCY_P99_US` once
 * every query sent in the I-th --interval has been answered or given up, and one `summary key=value...` line at
 * the end. The first 10 wrong answers of each kind of name and the first 20 lost queries are described on
 * stderr. SIGTERM or SIGINT ends early.
 * Usage: soakload --port P --udp-rate R --tcp-rate R --seconds S --interval S --listen-port P NAMES TABLE */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum kind { STABLE, NXDOMAIN, VERSIONED, HEADLESS, POD };
static const char *kind_names[] = {"stable", "nxdomain", "versioned", "headless", "pod"};

typedef struct {
    enum kind kind;
    char text[256];
    uint8_t question[300];  /* name, type A, class IN, as sent */
    int question_length;
    uint32_t ip;             /* stable: the address (host order) */
    int tracked, churn, file; /* versioned */
    int64_t window;          /* versioned: ns */
    int group, endpoint;     /* headless, pod */
} Name;

typedef struct { int64_t begin, end; int up; } Transition;

typedef struct {
    uint32_t ip;  /* host order */
    int flaps, listener;
    int64_t next_flip;
    Transition *transitions;
    int count, capacity;
} Endpoint;

typedef struct { int endpoints[16]; int count; } Group;

typedef struct { int64_t sent; int32_t name; int16_t index; uint8_t busy; } Slot;

#define MAX_WINDOW 1024
typedef struct {
    int fd, tcp, connected;
    int64_t reconnect_at;
    uint16_t next_id;
    Slot *slots;                        /* by DNS ID */
    uint16_t outstanding[MAX_WINDOW];   /* IDs in flight, unordered */
    int in_flight;
    uint8_t *wbuf, *rbuf;
    size_t wlen, rlen;
} Channel;

#define WBUF (MAX_WINDOW * 320)
#define RBUF (1 << 18)

typedef struct { uint64_t udp, tcp, answered, lost, wrong; uint32_t *latency; } Row;
/* Latency buckets: by the microsecond up to 100 ms, then by the millisecond up to 10 s; the last holds the rest. */
#define LATENCY_FINE 100000
#define LATENCY_BUCKETS (LATENCY_FINE + 9900 + 1)
static int latency_bucket(int64_t micros) {
    if (micros < LATENCY_FINE) return (int)micros;
    int64_t coarse = LATENCY_FINE + (micros - LATENCY_FINE) / 1000;
    return coarse < LATENCY_BUCKETS - 1 ? (int)coarse : LATENCY_BUCKETS - 1;
}
static uint64_t bucket_micros(int bucket) {
    return bucket < LATENCY_FINE ? (uint64_t)bucket : LATENCY_FINE + (uint64_t)(bucket - LATENCY_FINE) * 1000;
}

static Name *names;
static int name_count;
static Endpoint endpoints[4096];
static int endpoint_count;
static Group groups[1024];
static int group_count;
static int *mix;  /* name indices, each repeated WEIGHT times */
static int mix_count, mix_next;
static volatile int64_t *table;
static int64_t tracked_count, max_versions;
static Channel *channels;
static int udp_count = 8, tcp_count = 4, udp_window = 32, tcp_window = 64;
static double udp_rate, tcp_rate;
static int64_t seconds, interval, timeout = 5000000000LL, down_window = 2000000000LL, up_window = 2000000000LL;
static int64_t flap_min = 1000000000LL, flap_max = 8000000000LL;
static int port, listen_port;
static int poller;
static Row *rows;
static int row_count;
static int64_t start_time;
static uint64_t unexpected, tcp_closed, flips, accepted, listen_errors, reported_lost;
static uint64_t wrong_by_kind[5];
static int64_t max_stale[2];  /* ns a replaced version was still answered after its successor's acknowledgement:
                                 [0] names changed through the API, [1] names changed in files */
static volatile sig_atomic_t stopping;

static void on_signal(int signal) { (void)signal; stopping = 1; }

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void fail(const char *what) { perror(what); exit(1); }

/* ------------------------------------------------------------------------------------------------ input */

static int encode_name(const char *text, uint8_t *out) {
    int length = 0;
    const char *label = text;
    while (*label) {
        const char *dot = strchr(label, '.');
        int size = dot ? (int)(dot - label) : (int)strlen(label);
        if (size == 0 || size > 63 || length + size + 2 > 255) { fprintf(stderr, "soakload: bad name %s\n", text); exit(2); }
        out[length++] = (uint8_t)size;
        memcpy(out + length, label, (size_t)size);
        length += size;
        if (!dot) break;
        label = dot + 1;
    }
    out[length++] = 0;
    return length;
}

static uint32_t parse_ip(const char *text) {
    struct in_addr address;
    if (inet_pton(AF_INET, text, &address) != 1) { fprintf(stderr, "soakload: not an address: %s\n", text); exit(2); }
    return ntohl(address.s_addr);
}

static void read_names(const char *path) {
    FILE *file = fopen(path, "r");
    if (!file) fail(path);
    char line[1024];
    int capacity = 0;
    while (fgets(line, sizeof line, file)) {
        char word[32], text[256], a[64], b[64], c[64];
        int weight = 0;
        if (sscanf(line, "%31s", word) != 1 || word[0] == '#') continue;
        if (strcmp(word, "endpoint") == 0) {
            int index, flaps;
            if (sscanf(line, "%*s %d %63s %d", &index, a, &flaps) != 3 || index != endpoint_count || index >= 4096) goto bad;
            endpoints[endpoint_count++] = (Endpoint){.ip = parse_ip(a), .flaps = flaps, .listener = -1};
            continue;
        }
        if (strcmp(word, "group") == 0) {
            int index;
            if (sscanf(line, "%*s %d %63s", &index, a) != 2 || index != group_count || index >= 1024) goto bad;
            Group *group = &groups[group_count++];
            for (char *part = strtok(a, ","); part && group->count < 16; part = strtok(NULL, ",")) {
                int e = atoi(part);
                if (e < 0 || e >= endpoint_count) goto bad;
                group->endpoints[group->count++] = e;
            }
            continue;
        }
        if (name_count == capacity) {
            capacity = capacity ? capacity * 2 : 256;
            names = realloc(names, sizeof(Name) * (size_t)capacity);
        }
        Name *name = &names[name_count];
        memset(name, 0, sizeof *name);
        if (strcmp(word, "stable") == 0 && sscanf(line, "%*s %d %255s %63s", &weight, text, a) == 3) {
            name->kind = STABLE;
            name->ip = parse_ip(a);
        } else if (strcmp(word, "nxdomain") == 0 && sscanf(line, "%*s %d %255s", &weight, text) == 2) {
            name->kind = NXDOMAIN;
        } else if (strcmp(word, "versioned") == 0 &&
                   sscanf(line, "%*s %d %255s %63s %63s %63s %d", &weight, text, a, b, c, &name->file) == 6) {
            name->kind = VERSIONED;
            name->tracked = atoi(a);
            name->churn = atoi(b);
            name->window = atoll(c) * 1000000LL;
        } else if (strcmp(word, "headless") == 0 && sscanf(line, "%*s %d %255s %63s", &weight, text, a) == 3) {
            name->kind = HEADLESS;
            name->group = atoi(a);
            if (name->group < 0 || name->group >= group_count) goto bad;
        } else if (strcmp(word, "pod") == 0 && sscanf(line, "%*s %d %255s %63s", &weight, text, a) == 3) {
            name->kind = POD;
            name->endpoint = atoi(a);
            if (name->endpoint < 0 || name->endpoint >= endpoint_count) goto bad;
        } else {
            goto bad;
        }
        if (weight < 1 || weight > 1000) goto bad;
        snprintf(name->text, sizeof name->text, "%s", text);
        int length = encode_name(text, name->question);
        memcpy(name->question + length, "\x00\x01\x00\x01", 4);  /* A, IN */
        name->question_length = length + 4;
        mix = realloc(mix, sizeof(int) * (size_t)(mix_count + weight));
        for (int i = 0; i < weight; i++) mix[mix_count++] = name_count;
        name_count++;
        continue;
    bad:
        fprintf(stderr, "soakload: %s: cannot read: %s", path, line);
        exit(2);
    }
    fclose(file);
    if (mix_count == 0) { fprintf(stderr, "soakload: %s: no names\n", path); exit(2); }
    /* Spread each name's share over the cycle, so that a weight-10 name is not asked 10 times in a row. */
    srandom(12345);
    for (int i = mix_count - 1; i > 0; i--) {
        int j = (int)(random() % (i + 1)), t = mix[i];
        mix[i] = mix[j];
        mix[j] = t;
    }
}

static void map_table(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) fail(path);
    struct stat info;
    if (fstat(fd, &info) != 0 || info.st_size < 64) { fprintf(stderr, "soakload: %s: too short\n", path); exit(2); }
    void *memory = mmap(NULL, (size_t)info.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (memory == MAP_FAILED) fail("mmap");
    close(fd);
    table = memory;
    if (memcmp((const void *)table, "SOAKTBL1", 8) != 0) { fprintf(stderr, "soakload: %s: not a table\n", path); exit(2); }
    tracked_count = table[1];
    max_versions = table[2];
    if (64 + tracked_count * 16 + tracked_count * max_versions * 16 != info.st_size) {
        fprintf(stderr, "soakload: %s: wrong size\n", path);
        exit(2);
    }
}

/* The table's layout: a 64-byte header (magic, tracked names, versions per name), then per name the counts of
 * versions begun and acknowledged, then per name and version its begin and acknowledgement times. */
static int64_t versions_begun(int k) { return table[8 + k * 2]; }
static int64_t versions_acknowledged(int k) { return table[8 + k * 2 + 1]; }
static int64_t version_begun(int k, int64_t v) { return table[8 + tracked_count * 2 + (k * max_versions + v) * 2]; }
static int64_t version_acknowledged(int k, int64_t v) { return table[8 + tracked_count * 2 + (k * max_versions + v) * 2 + 1]; }

/* ---------------------------------------------------------------------------------------------- endpoints */

static void record(Endpoint *endpoint, int64_t begin, int64_t end, int up) {
    if (endpoint->count == endpoint->capacity) {
        endpoint->capacity = endpoint->capacity ? endpoint->capacity * 2 : 64;
        endpoint->transitions = realloc(endpoint->transitions, sizeof(Transition) * (size_t)endpoint->capacity);
    }
    endpoint->transitions[endpoint->count++] = (Transition){begin, end, up};
}

#define TAG(kind, value) (((uint64_t)(kind) << 32) | (uint32_t)(value))
enum { TAG_CHANNEL = 1, TAG_LISTENER = 2, TAG_PROBE = 3 };

static int open_listener(Endpoint *endpoint) {
    int64_t begin = now_ns();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)listen_port),
                                  .sin_addr.s_addr = htonl(endpoint->ip)};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, 4096) != 0) {
        if (fd >= 0) close(fd);
        listen_errors++;
        return -1;
    }
    struct epoll_event event = {.events = EPOLLIN, .data.u64 = TAG(TAG_LISTENER, endpoint - endpoints)};
    epoll_ctl(poller, EPOLL_CTL_ADD, fd, &event);
    endpoint->listener = fd;
    record(endpoint, begin, now_ns(), 1);
    return 0;
}

static void close_listener(Endpoint *endpoint) {
    int64_t begin = now_ns();
    /* Connections accepted before stay open until the prober resets them; new ones are refused from here. */
    close(endpoint->listener);
    endpoint->listener = -1;
    record(endpoint, begin, now_ns(), 0);
}

static void accept_probes(int fd) {
    for (int i = 0; i < 1000; i++) {
        int connection = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (connection < 0) return;
        accepted++;
        /* Closed once the prober closes or resets it: closing first would race the prober's connect. */
        struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = TAG(TAG_PROBE, connection)};
        if (epoll_ctl(poller, EPOLL_CTL_ADD, connection, &event) != 0) close(connection);
    }
}

static int64_t random_between(int64_t low, int64_t high) {
    return low + (int64_t)((double)random() / RAND_MAX * (double)(high - low));
}

static void flip_due(int64_t now) {
    for (int i = 0; i < endpoint_count; i++) {
        Endpoint *endpoint = &endpoints[i];
        if (!endpoint->flaps || now < endpoint->next_flip) continue;
        if (endpoint->listener >= 0) close_listener(endpoint);
        else open_listener(endpoint);
        flips++;
        endpoint->next_flip = now + random_between(flap_min, flap_max);
    }
}

/* The transition in force at `at`: the last one begun by then; NULL before the first. */
static const Transition *state_at(const Endpoint *endpoint, int64_t at) {
    for (int i = endpoint->count - 1; i >= 0; i--)
        if (endpoint->transitions[i].begin <= at) return &endpoint->transitions[i];
    return NULL;
}

/* Whether the endpoint was up (or down) throughout [from, to]: the last transition begun by `to` is of that
 * kind and finished by `from`. */
static int surely(const Endpoint *endpoint, int up, int64_t from, int64_t to) {
    const Transition *t = state_at(endpoint, to);
    return t && t->up == up && t->end <= from;
}

/* ---------------------------------------------------------------------------------------------- checking */

typedef struct {
    int rcode, count, others;
    uint32_t ips[32];
    int ip_count;
} Answer;

static int skip_name(const uint8_t *p, int length, int at, int *is_question_pointer) {
    *is_question_pointer = 0;
    for (int labels = 0; at < length && labels < 128; labels++) {
        uint8_t size = p[at];
        if ((size & 0xC0) == 0xC0) {
            if (at + 1 >= length) return -1;
            *is_question_pointer = labels == 0 && ((size & 0x3F) << 8 | p[at + 1]) == 12;
            return at + 2;
        }
        if (size & 0xC0) return -1;
        if (size == 0) return at + 1;
        at += size + 1;
    }
    return -1;
}

/* Reads the response; returns NULL when it is well formed for the query, else why not. */
static const char *parse(const uint8_t *p, int length, const Name *name, Answer *answer) {
    if (length < 12) return "shorter than a header";
    if (!(p[2] & 0x80)) return "QR clear";
    if (p[2] & 0x78) return "opcode not QUERY";
    if (!(p[2] & 0x04)) return "AA clear";
    if (p[2] & 0x02) return "TC set";
    answer->rcode = p[3] & 0x0F;
    if (p[4] != 0 || p[5] != 1) return "QDCOUNT not 1";
    answer->count = p[6] << 8 | p[7];
    if (length < 12 + name->question_length || memcmp(p + 12, name->question, (size_t)name->question_length) != 0)
        return "another question";
    int at = 12 + name->question_length;
    answer->ip_count = answer->others = 0;
    for (int i = 0; i < answer->count; i++) {
        int pointer;
        int owner = at;
        at = skip_name(p, length, at, &pointer);
        if (at < 0 || at + 10 > length) return "answer record cut short";
        /* Our names are never compressed in the answers we expect, so an owner is the question's, by pointer
         * or spelled out. */
        if (!pointer && !(at - owner == name->question_length - 4 &&
                          strncasecmp((const char *)p + owner, (const char *)name->question, (size_t)(at - owner)) == 0))
            return "answer record for another name";
        int type = p[at] << 8 | p[at + 1], rdlength = p[at + 8] << 8 | p[at + 9];
        at += 10;
        if (at + rdlength > length) return "rdata cut short";
        if (type == 1 && rdlength == 4 && answer->ip_count < 32)
            answer->ips[answer->ip_count++] = (uint32_t)p[at] << 24 | (uint32_t)p[at + 1] << 16 | (uint32_t)p[at + 2] << 8 | p[at + 3];
        else
            answer->others++;
        at += rdlength;
    }
    if (answer->others) return "a record other than A in the answer";
    return NULL;
}

/* The newest version begun by `at` and the newest acknowledged by `at`: binary searches, times are increasing. */
static int64_t newest(int k, int64_t at, int acknowledged) {
    int64_t low = 0, high = (acknowledged ? versions_acknowledged(k) : versions_begun(k)) - 1, found = -1;
    if (high >= max_versions) high = max_versions - 1;
    while (low <= high) {
        int64_t middle = (low + high) / 2;
        int64_t t = acknowledged ? version_acknowledged(k, middle) : version_begun(k, middle);
        if (t != 0 && t <= at) { found = middle; low = middle + 1; } else high = middle - 1;
    }
    return found;
}

static char reason[512];

static const char *check_versioned(const Name *name, const Answer *answer, int64_t sent, int64_t received) {
    int k = name->tracked;
    if (k < 0 || k >= tracked_count) return "no such tracked name";
    int64_t highest = newest(k, received, 0);
    int64_t lowest = newest(k, sent - name->window, 1);
    if (lowest < 0) lowest = 0;
    if (answer->rcode == 3 && answer->count == 0) {
        if (name->churn && (highest > lowest || (lowest & 1))) return NULL;
        snprintf(reason, sizeof reason, "NXDOMAIN, but versions %lld..%lld all exist", (long long)lowest, (long long)highest);
        return reason;
    }
    if (answer->rcode != 0 || answer->ip_count != 1) {
        snprintf(reason, sizeof reason, "rcode %d with %d A records, expected one", answer->rcode, answer->ip_count);
        return reason;
    }
    uint32_t ip = answer->ips[0];
    int64_t v = ip & 0xFFFF;
    if ((ip >> 24) != 10 || ((ip >> 16) & 0xFF) != (uint32_t)(100 + k)) return "an address of no version";
    if (v > highest || v < lowest || (name->churn && (v & 1))) {
        snprintf(reason, sizeof reason, "version %lld, allowed %lld..%lld (window %lld ms)", (long long)v,
                 (long long)lowest, (long long)highest, (long long)(name->window / 1000000));
        return reason;
    }
    if (v + 1 < versions_acknowledged(k) && v + 1 < max_versions) {
        int64_t next = version_acknowledged(k, v + 1);
        int64_t stale = sent - next;
        if (next && stale > max_stale[name->file]) max_stale[name->file] = stale;
    }
    return NULL;
}

/* Whether answering (or not answering) the endpoint was right for a query in flight over [sent, received]. */
static const char *check_endpoint(int e, int answered, int64_t sent, int64_t received) {
    const Endpoint *endpoint = &endpoints[e];
    if (answered && surely(endpoint, 0, sent - down_window, received)) {
        const Transition *t = state_at(endpoint, received);
        snprintf(reason, sizeof reason, "answered endpoint %d.%d.%d.%d, closed %.3f s before the query", endpoint->ip >> 24,
                 (endpoint->ip >> 16) & 255, (endpoint->ip >> 8) & 255, endpoint->ip & 255, (double)(sent - t->end) / 1e9);
        return reason;
    }
    if (!answered && surely(endpoint, 1, sent - up_window, received)) {
        const Transition *t = state_at(endpoint, received);
        snprintf(reason, sizeof reason, "left out endpoint %d.%d.%d.%d, listening since %.3f s before the query",
                 endpoint->ip >> 24, (endpoint->ip >> 16) & 255, (endpoint->ip >> 8) & 255, endpoint->ip & 255,
                 (double)(sent - t->end) / 1e9);
        return reason;
    }
    return NULL;
}

static const char *check(const Name *name, const uint8_t *p, int length, int64_t sent, int64_t received) {
    Answer answer;
    const char *problem = parse(p, length, name, &answer);
    if (problem) return problem;
    switch (name->kind) {
    case STABLE:
        if (answer.rcode == 0 && answer.ip_count == 1 && answer.ips[0] == name->ip) return NULL;
        snprintf(reason, sizeof reason, "rcode %d with %d A records (the first %u.%u.%u.%u), expected %u.%u.%u.%u alone",
                 answer.rcode, answer.ip_count, answer.ip_count ? answer.ips[0] >> 24 : 0,
                 answer.ip_count ? (answer.ips[0] >> 16) & 255 : 0, answer.ip_count ? (answer.ips[0] >> 8) & 255 : 0,
                 answer.ip_count ? answer.ips[0] & 255 : 0, name->ip >> 24, (name->ip >> 16) & 255, (name->ip >> 8) & 255,
                 name->ip & 255);
        return reason;
    case NXDOMAIN:
        if (answer.rcode == 3 && answer.count == 0) return NULL;
        snprintf(reason, sizeof reason, "rcode %d with %d answers, expected NXDOMAIN", answer.rcode, answer.count);
        return reason;
    case VERSIONED:
        return check_versioned(name, &answer, sent, received);
    case HEADLESS: {
        const Group *group = &groups[name->group];
        if (answer.rcode != 0 || answer.ip_count == 0) return "no A records";
        int seen[16] = {0};
        for (int i = 0; i < answer.ip_count; i++) {
            int found = -1;
            for (int j = 0; j < group->count; j++)
                if (endpoints[group->endpoints[j]].ip == answer.ips[i]) found = j;
            if (found < 0) return "an address outside the Service";
            if (seen[found]++) return "an address twice";
        }
        for (int j = 0; j < group->count; j++) {
            const char *wrong = check_endpoint(group->endpoints[j], seen[j], sent, received);
            if (wrong) return wrong;
        }
        return NULL;
    }
    case POD:
        if (answer.rcode == 3 && answer.count == 0) return check_endpoint(name->endpoint, 0, sent, received);
        if (answer.rcode == 0 && answer.ip_count == 1 && answer.ips[0] == endpoints[name->endpoint].ip)
            return check_endpoint(name->endpoint, 1, sent, received);
        snprintf(reason, sizeof reason, "rcode %d with %d A records", answer.rcode, answer.ip_count);
        return reason;
    }
    return "unknown kind";
}

/* ---------------------------------------------------------------------------------------------- traffic */

static Row *row_of(int64_t sent) {
    int64_t i = (sent - start_time) / interval;
    if (i < 0) i = 0;
    if (i >= row_count) i = row_count - 1;
    return &rows[i];
}

static void release(Channel *channel, uint16_t id) {
    Slot *slot = &channel->slots[id];
    int index = slot->index;
    uint16_t last = channel->outstanding[--channel->in_flight];
    channel->outstanding[index] = last;
    channel->slots[last].index = (int16_t)index;
    slot->busy = 0;
}

static void receive(Channel *channel, const uint8_t *p, int length, int64_t received) {
    if (length < 2) { unexpected++; return; }
    uint16_t id = (uint16_t)(p[0] << 8 | p[1]);
    Slot *slot = &channel->slots[id];
    if (!slot->busy) { unexpected++; return; }
    const Name *name = &names[slot->name];
    int64_t sent = slot->sent;
    release(channel, id);
    Row *row = row_of(sent);
    row->answered++;
    int64_t micros = (received - sent) / 1000;
    row->latency[latency_bucket(micros)]++;
    const char *wrong = check(name, p, length, sent, received);
    if (wrong) {
        row->wrong++;
        if (wrong_by_kind[name->kind]++ < 10)
            fprintf(stderr, "soakload: wrong: %s %s over %s, sent at %.3f s, answered in %.3f ms: %s\n",
                    kind_names[name->kind], name->text, channel->tcp ? "TCP" : "UDP", (double)(sent - start_time) / 1e9,
                    (double)(received - sent) / 1e6, wrong);
    }
}

static void lose(Channel *channel, uint16_t id, const char *why) {
    Slot *slot = &channel->slots[id];
    row_of(slot->sent)->lost++;
    if (reported_lost++ < 20)
        fprintf(stderr, "soakload: lost: %s over %s, sent at %.3f s: %s\n", names[slot->name].text,
                channel->tcp ? "TCP" : "UDP", (double)(slot->sent - start_time) / 1e9, why);
    release(channel, id);
}

/* Claims an ID (the next one not in flight) for a query of the next name in the mix; returns the query's length. */
static int prepare(Channel *channel, uint8_t *out, int64_t now) {
    uint16_t id = channel->next_id;
    while (channel->slots[id].busy) id++;
    channel->next_id = (uint16_t)(id + 1);
    int n = mix[mix_next];
    mix_next = (mix_next + 1) % mix_count;
    const Name *name = &names[n];
    out[0] = (uint8_t)(id >> 8);
    out[1] = (uint8_t)id;
    memcpy(out + 2, "\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 10);  /* RD, one question */
    memcpy(out + 12, name->question, (size_t)name->question_length);
    Slot *slot = &channel->slots[id];
    *slot = (Slot){.sent = now, .name = n, .index = (int16_t)channel->in_flight, .busy = 1};
    channel->outstanding[channel->in_flight++] = id;
    Row *row = row_of(now);
    if (channel->tcp) row->tcp++; else row->udp++;
    return 12 + name->question_length;
}

static void connect_tcp(Channel *channel, int64_t now) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(0x7F000001)};
    if (connect(fd, (struct sockaddr *)&address, sizeof address) != 0 && errno != EINPROGRESS) {
        close(fd);
        channel->reconnect_at = now + 100000000LL;
        return;
    }
    channel->fd = fd;
    channel->connected = 0;
    channel->wlen = channel->rlen = 0;
    struct epoll_event event = {.events = EPOLLIN | EPOLLOUT, .data.u64 = TAG(TAG_CHANNEL, channel - channels)};
    epoll_ctl(poller, EPOLL_CTL_ADD, fd, &event);
}

static void drop_tcp(Channel *channel, int64_t now, const char *why) {
    tcp_closed++;
    fprintf(stderr, "soakload: TCP connection %d closed at %.3f s: %s\n", (int)(channel - channels),
            (double)(now - start_time) / 1e9, why);
    close(channel->fd);
    channel->fd = -1;
    channel->connected = 0;
    while (channel->in_flight) lose(channel, channel->outstanding[0], "its TCP connection closed");
    channel->reconnect_at = now + 100000000LL;
}

static void flush_tcp(Channel *channel, int64_t now) {
    while (channel->wlen) {
        ssize_t written = write(channel->fd, channel->wbuf, channel->wlen);
        if (written < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) drop_tcp(channel, now, strerror(errno));
            return;
        }
        memmove(channel->wbuf, channel->wbuf + written, channel->wlen - (size_t)written);
        channel->wlen -= (size_t)written;
    }
}

static void send_udp(Channel *channel, int count, int64_t now) {
    static uint8_t buffers[64][320];
    struct mmsghdr messages[64];
    struct iovec vectors[64];
    if (count > 64) count = 64;
    for (int i = 0; i < count; i++) {
        vectors[i] = (struct iovec){buffers[i], (size_t)prepare(channel, buffers[i], now)};
        messages[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &vectors[i], .msg_iovlen = 1}};
    }
    int sent = sendmmsg(channel->fd, messages, (unsigned)count, 0);
    /* Queries the kernel did not take were never sent: take back their IDs and counts. */
    for (int i = count - 1; i >= (sent < 0 ? 0 : sent); i--) {
        uint16_t id = (uint16_t)(buffers[i][0] << 8 | buffers[i][1]);
        row_of(now)->udp--;
        release(channel, id);
    }
}

static void send_tcp(Channel *channel, int count, int64_t now) {
    for (int i = 0; i < count && channel->wlen + 320 <= WBUF; i++) {
        int length = prepare(channel, channel->wbuf + channel->wlen + 2, now);
        channel->wbuf[channel->wlen] = (uint8_t)(length >> 8);
        channel->wbuf[channel->wlen + 1] = (uint8_t)length;
        channel->wlen += (size_t)length + 2;
    }
    flush_tcp(channel, now);
}

static void read_udp(Channel *channel) {
    static uint8_t buffers[64][1500];
    struct mmsghdr messages[64];
    struct iovec vectors[64];
    for (int round = 0; round < 16; round++) {
        for (int i = 0; i < 64; i++) {
            vectors[i] = (struct iovec){buffers[i], sizeof buffers[i]};
            messages[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &vectors[i], .msg_iovlen = 1}};
        }
        int count = recvmmsg(channel->fd, messages, 64, MSG_DONTWAIT, NULL);
        if (count <= 0) return;
        int64_t received = now_ns();
        for (int i = 0; i < count; i++) receive(channel, buffers[i], (int)messages[i].msg_len, received);
        if (count < 64) return;
    }
}

static void read_tcp(Channel *channel, int64_t now) {
    for (int round = 0; round < 16; round++) {
        ssize_t got = read(channel->fd, channel->rbuf + channel->rlen, RBUF - channel->rlen);
        if (got == 0) { drop_tcp(channel, now, "closed by svcdns"); return; }
        if (got < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) drop_tcp(channel, now, strerror(errno));
            return;
        }
        channel->rlen += (size_t)got;
        int64_t received = now_ns();
        size_t at = 0;
        while (channel->rlen - at >= 2) {
            size_t length = (size_t)(channel->rbuf[at] << 8 | channel->rbuf[at + 1]);
            if (channel->rlen - at < 2 + length) break;
            receive(channel, channel->rbuf + at + 2, (int)length, received);
            at += 2 + length;
        }
        memmove(channel->rbuf, channel->rbuf + at, channel->rlen - at);
        channel->rlen -= at;
        if ((size_t)got < RBUF / 2) return;
    }
}

static void expire(int64_t now) {
    for (int c = 0; c < udp_count + tcp_count; c++) {
        Channel *channel = &channels[c];
        for (int i = channel->in_flight - 1; i >= 0; i--) {
            if (i >= channel->in_flight) continue;
            uint16_t id = channel->outstanding[i];
            if (now - channel->slots[id].sent > timeout) lose(channel, id, "no answer within the timeout");
        }
    }
}

static uint64_t percentile(const uint32_t *latency, uint64_t total, double p) {
    if (p >= 1) {
        for (int i = LATENCY_BUCKETS - 1; i > 0; i--)
            if (latency[i]) return bucket_micros(i);
        return 0;
    }
    uint64_t wanted = (uint64_t)((double)total * p), seen = 0;
    for (int i = 0; i < LATENCY_BUCKETS; i++) {
        seen += latency[i];
        if (seen > wanted) return bucket_micros(i);
    }
    return bucket_micros(LATENCY_BUCKETS - 1);
}

static void print_row(int i) {
    Row *row = &rows[i];
    printf("row %d %llu %llu %llu %llu %llu %llu\n", i, (unsigned long long)row->udp, (unsigned long long)row->tcp,
           (unsigned long long)row->answered, (unsigned long long)row->lost, (unsigned long long)row->wrong,
           (unsigned long long)percentile(row->latency, row->answered, 0.99));
    fflush(stdout);
}

int main(int argc, char **argv) {
    static struct option options[] = {
        {"port", required_argument, 0, 'p'}, {"udp-rate", required_argument, 0, 'u'},
        {"tcp-rate", required_argument, 0, 't'}, {"udp-sockets", required_argument, 0, 'U'},
        {"tcp-connections", required_argument, 0, 'T'}, {"udp-window", required_argument, 0, 'w'},
        {"tcp-window", required_argument, 0, 'W'}, {"seconds", required_argument, 0, 's'},
        {"interval", required_argument, 0, 'i'}, {"timeout-ms", required_argument, 0, 'o'},
        {"down-ms", required_argument, 0, 'd'}, {"up-ms", required_argument, 0, 'r'},
        {"flap-min-ms", required_argument, 0, 'm'}, {"flap-max-ms", required_argument, 0, 'M'},
        {"listen-port", required_argument, 0, 'l'}, {"seed", required_argument, 0, 'S'}, {0, 0, 0, 0}};
    unsigned seed = 1;
    for (int option; (option = getopt_long(argc, argv, "", options, NULL)) != -1;) {
        switch (option) {
        case 'p': port = atoi(optarg); break;
        case 'u': udp_rate = atof(optarg); break;
        case 't': tcp_rate = atof(optarg); break;
        case 'U': udp_count = atoi(optarg); break;
        case 'T': tcp_count = atoi(optarg); break;
        case 'w': udp_window = atoi(optarg); break;
        case 'W': tcp_window = atoi(optarg); break;
        case 's': seconds = atoll(optarg); break;
        case 'i': interval = atoll(optarg); break;
        case 'o': timeout = atoll(optarg) * 1000000LL; break;
        case 'd': down_window = atoll(optarg) * 1000000LL; break;
        case 'r': up_window = atoll(optarg) * 1000000LL; break;
        case 'm': flap_min = atoll(optarg) * 1000000LL; break;
        case 'M': flap_max = atoll(optarg) * 1000000LL; break;
        case 'l': listen_port = atoi(optarg); break;
        case 'S': seed = (unsigned)atoi(optarg); break;
        default: return 2;
        }
    }
    if (argc - optind != 2 || port <= 0 || listen_port <= 0 || seconds <= 0 || interval <= 0 || udp_count < 1 ||
        tcp_count < 0 || udp_count + tcp_count > 256 || udp_window < 1 || udp_window > MAX_WINDOW || tcp_window < 1 ||
        tcp_window > MAX_WINDOW || flap_max < flap_min) {
        fprintf(stderr, "usage: soakload --port P --udp-rate R --tcp-rate R --seconds S --interval S --listen-port P "
                        "[--udp-sockets N] [--tcp-connections N] [--udp-window N] [--tcp-window N] [--timeout-ms MS] "
                        "[--down-ms MS] [--up-ms MS] [--flap-min-ms MS] [--flap-max-ms MS] [--seed N] NAMES TABLE\n");
        return 2;
    }
    interval *= 1000000000LL;
    seconds *= 1000000000LL;
    read_names(argv[optind]);
    map_table(argv[optind + 1]);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction action = {.sa_handler = on_signal};
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    poller = epoll_create1(EPOLL_CLOEXEC);
    if (poller < 0) fail("epoll_create1");
    srandom(seed);

    row_count = (int)((seconds + interval - 1) / interval);
    rows = calloc((size_t)row_count, sizeof(Row));
    for (int i = 0; i < row_count; i++) rows[i].latency = calloc(LATENCY_BUCKETS, sizeof(uint32_t));
    channels = calloc((size_t)(udp_count + tcp_count), sizeof(Channel));
    for (int c = 0; c < udp_count + tcp_count; c++) {
        Channel *channel = &channels[c];
        channel->slots = calloc(65536, sizeof(Slot));
        channel->tcp = c >= udp_count;
        channel->next_id = (uint16_t)random();
        channel->fd = -1;
        if (channel->tcp) {
            channel->wbuf = malloc(WBUF);
            channel->rbuf = malloc(RBUF);
            continue;
        }
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(0x7F000001)};
        if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) fail("UDP socket");
        channel->fd = fd;
        channel->connected = 1;
        struct epoll_event event = {.events = EPOLLIN, .data.u64 = TAG(TAG_CHANNEL, c)};
        epoll_ctl(poller, EPOLL_CTL_ADD, fd, &event);
    }

    /* Every endpoint listens from the start; the flapping ones begin to flap once svcdns has had time to see
     * them all up, so that a Service never has all its endpoints down (which would make svcdns fail open). */
    int64_t now = now_ns();
    for (int i = 0; i < endpoint_count; i++) {
        if (open_listener(&endpoints[i]) != 0) {
            fprintf(stderr, "soakload: cannot listen on endpoint %d (port %d): %s\n", i, listen_port, strerror(errno));
            return 1;
        }
        endpoints[i].next_flip = now + up_window + random_between(flap_min, flap_max);
    }
    for (int c = udp_count; c < udp_count + tcp_count; c++) connect_tcp(&channels[c], now);

    start_time = now_ns();
    printf("start %lld\n", (long long)start_time);
    fflush(stdout);
    int64_t end = start_time + seconds, last_tick = 0;
    double udp_budget = 0, tcp_budget = 0;
    int64_t last_refill = start_time;
    int next_row = 0, next_udp = 0, next_tcp = 0;
    int64_t drain_deadline = end + timeout + 1000000000LL;
    struct epoll_event events[256];
    while (!stopping) {
        now = now_ns();
        int sending = now < end;
        if (sending) {
            /* The budgets grow at the rates and are spent as windows allow; at most 20 ms of backlog is kept, so
             * after a stall the load comes back at its rate, not as a burst of everything owed. */
            double elapsed = (double)(now - last_refill) / 1e9;
            last_refill = now;
            udp_budget += udp_rate * elapsed;
            tcp_budget += tcp_rate * elapsed;
            if (udp_budget > udp_rate * 0.02 + 64) udp_budget = udp_rate * 0.02 + 64;
            if (tcp_budget > tcp_rate * 0.02 + 64) tcp_budget = tcp_rate * 0.02 + 64;
            for (int tries = 0; tries < udp_count && udp_budget >= 1; tries++) {
                Channel *channel = &channels[next_udp];
                next_udp = (next_udp + 1) % udp_count;
                int room = udp_window - channel->in_flight;
                int count = (int)udp_budget < room ? (int)udp_budget : room;
                if (count > 16) count = 16;
                if (count > 0) {
                    send_udp(channel, count, now);
                    udp_budget -= count;
                }
            }
            for (int tries = 0; tries < tcp_count && tcp_budget >= 1; tries++) {
                Channel *channel = &channels[udp_count + next_tcp];
                next_tcp = (next_tcp + 1) % tcp_count;
                if (!channel->connected) continue;
                int room = tcp_window - channel->in_flight;
                int count = (int)tcp_budget < room ? (int)tcp_budget : room;
                if (count > 32) count = 32;
                if (count > 0) {
                    send_tcp(channel, count, now);
                    tcp_budget -= count;
                }
            }
        }
        int ready = epoll_wait(poller, events, 256, sending ? 1 : 10);
        now = now_ns();
        for (int i = 0; i < ready; i++) {
            uint32_t kind = (uint32_t)(events[i].data.u64 >> 32), value = (uint32_t)events[i].data.u64;
            if (kind == TAG_PROBE) {
                struct linger reset = {.l_onoff = 1, .l_linger = 0};
                setsockopt((int)value, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
                close((int)value);
            } else if (kind == TAG_LISTENER) {
                if (endpoints[value].listener >= 0) accept_probes(endpoints[value].listener);
            } else {
                Channel *channel = &channels[value];
                if (channel->fd < 0) continue;
                if (!channel->tcp) { read_udp(channel); continue; }
                if (!channel->connected && (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
                    int error = 0;
                    socklen_t size = sizeof error;
                    getsockopt(channel->fd, SOL_SOCKET, SO_ERROR, &error, &size);
                    if (error) { drop_tcp(channel, now, strerror(error)); continue; }
                    channel->connected = 1;
                    struct epoll_event event = {.events = EPOLLIN, .data.u64 = TAG(TAG_CHANNEL, value)};
                    epoll_ctl(poller, EPOLL_CTL_MOD, channel->fd, &event);
                }
                if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) read_tcp(channel, now);
            }
        }
        for (int c = udp_count; c < udp_count + tcp_count; c++) {
            Channel *channel = &channels[c];
            if (channel->fd >= 0 && channel->connected && channel->wlen) flush_tcp(channel, now);
            if (channel->fd < 0 && sending && now >= channel->reconnect_at) connect_tcp(channel, now);
        }
        if (now - last_tick >= 10000000LL) {
            last_tick = now;
            expire(now);
            if (sending) flip_due(now);
            /* A row is final once the last query sent in it has been answered or has timed out. */
            while (next_row < row_count && now >= start_time + (next_row + 1) * interval + timeout + 20000000LL)
                print_row(next_row++);
        }
        if (!sending) {
            int in_flight = 0;
            for (int c = 0; c < udp_count + tcp_count; c++) in_flight += channels[c].in_flight;
            if (in_flight == 0 || now >= drain_deadline) break;
        }
    }
    now = now_ns();
    for (int c = 0; c < udp_count + tcp_count; c++)
        while (channels[c].in_flight) lose(&channels[c], channels[c].outstanding[0], "unanswered at the end");
    int finished = now >= end ? row_count : (int)((now - start_time) / interval);
    while (next_row < finished) print_row(next_row++);
    uint64_t total[5] = {0};
    uint32_t *latency = calloc(LATENCY_BUCKETS, sizeof(uint32_t));
    for (int i = 0; i < row_count; i++) {
        total[0] += rows[i].udp;
        total[1] += rows[i].tcp;
        total[2] += rows[i].answered;
        total[3] += rows[i].lost;
        total[4] += rows[i].wrong;
        for (int j = 0; j < LATENCY_BUCKETS; j++) latency[j] += rows[i].latency[j];
    }
    printf("summary udp=%llu tcp=%llu answered=%llu lost=%llu wrong=%llu unexpected=%llu tcp_closed=%llu flips=%llu "
           "probes_accepted=%llu listen_errors=%llu stale_api_ms=%.1f stale_file_ms=%.1f p50_us=%llu p99_us=%llu "
           "max_us=%llu interrupted=%d wrong_stable=%llu wrong_nxdomain=%llu wrong_versioned=%llu wrong_headless=%llu "
           "wrong_pod=%llu\n",
           (unsigned long long)total[0], (unsigned long long)total[1], (unsigned long long)total[2],
           (unsigned long long)total[3], (unsigned long long)total[4], (unsigned long long)unexpected,
           (unsigned long long)tcp_closed, (unsigned long long)flips, (unsigned long long)accepted,
           (unsigned long long)listen_errors, (double)max_stale[0] / 1e6, (double)max_stale[1] / 1e6,
           (unsigned long long)percentile(latency, total[2], 0.5), (unsigned long long)percentile(latency, total[2], 0.99),
           (unsigned long long)percentile(latency, total[2], 1.0), (int)stopping, (unsigned long long)wrong_by_kind[STABLE],
           (unsigned long long)wrong_by_kind[NXDOMAIN], (unsigned long long)wrong_by_kind[VERSIONED],
           (unsigned long long)wrong_by_kind[HEADLESS], (unsigned long long)wrong_by_kind[POD]);
    fflush(stdout);
    for (int i = 0; i < endpoint_count; i++)
        if (endpoints[i].listener >= 0) close(endpoints[i].listener);
    return 0;
}
