/* The floor of `scripts/bench --mode probe`: the least a TCP health probe can cost. It connects to PORT at
 * each ADDRESS in turn, RATE times a second for SECONDS, as svcdns's prober does (non-blocking connect, the
 * result read from SO_ERROR once the socket is writable, closed with SO_LINGER 0 so no TIME_WAIT is left),
 * with one epoll loop and at most 256 connects in flight, and nothing else: no schedule, no verdicts. Its
 * CPU per probe is the kernel's connect and teardown on loopback (the listener's half of the handshake runs
 * on the connecting CPU too); what svcdns spends above it is its own work.
 * Prints the probes finished and failed. Usage: probefloor RATE SECONDS PORT ADDRESS... */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_FLIGHT 256

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void close_with_reset(int fd) {
    struct linger option = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, sizeof option);
    close(fd);
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: probefloor RATE SECONDS PORT ADDRESS...\n"); return 2; }
    double rate = atof(argv[1]), seconds = atof(argv[2]);
    int port = atoi(argv[3]), count = argc - 4;
    if (rate <= 0 || seconds <= 0 || port <= 0 || port > 65535) { fprintf(stderr, "probefloor: bad arguments\n"); return 2; }
    struct sockaddr_in *targets = calloc(count, sizeof *targets);
    for (int i = 0; i < count; i++) {
        targets[i].sin_family = AF_INET;
        targets[i].sin_port = htons(port);
        if (inet_pton(AF_INET, argv[4 + i], &targets[i].sin_addr) != 1) { fprintf(stderr, "probefloor: %s\n", argv[4 + i]); return 2; }
    }
    int epoll = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event events[IN_FLIGHT];
    long started = 0, finished = 0, failed = 0, in_flight = 0;
    double begin = now(), end = begin + seconds;
    for (;;) {
        double t = now();
        if (t >= end && in_flight == 0) break;
        /* Start every probe due by now, as a schedule spreading RATE probes a second would. */
        long due = t < end ? (long)((t - begin) * rate) : started;
        while (started < due && in_flight < IN_FLIGHT) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) { failed++; started++; continue; }
            struct sockaddr_in *target = &targets[started % count];
            started++;
            if (connect(fd, (struct sockaddr *)target, sizeof *target) == 0) { close_with_reset(fd); finished++; continue; }
            if (errno != EINPROGRESS) { close(fd); failed++; continue; }
            struct epoll_event event = {.events = EPOLLOUT, .data.fd = fd};
            epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
            in_flight++;
        }
        double next = begin + (started + 1) / rate;
        int wait_ms = in_flight == IN_FLIGHT || t >= end ? 10 : (int)((next - t) * 1000) + 1;
        int ready = epoll_wait(epoll, events, IN_FLIGHT, wait_ms < 0 ? 0 : wait_ms);
        for (int i = 0; i < ready; i++) {
            int fd = events[i].data.fd, error = 0;
            socklen_t length = sizeof error;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
            close_with_reset(fd);
            in_flight--;
            if (error) failed++; else finished++;
        }
    }
    printf("%ld %ld\n", finished, failed);
    return 0;
}
