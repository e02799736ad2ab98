/* The probe targets of `scripts/bench --mode probe`: listens on PORT at each ADDRESS given (loopback
 * addresses such as 127.0.0.1 … 127.0.0.10), accepts every connection and closes it as soon as the peer
 * closes or resets it, which is all a TCP health probe needs of a healthy endpoint. (Closing at once with an
 * RST would race the prober's connect: it could see the reset before it sees the connection up.) svcdns's
 * prober closes with an RST, so no TIME_WAIT piles up on either side. One thread, epoll, non-blocking
 * accept4 in a loop: it keeps up with tens of thousands of connects a second where a Python listener would
 * fall behind. On SIGTERM or SIGINT it prints how many connections it accepted and exits.
 * Usage: listeners PORT ADDRESS... */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stopping = 0;

static void stop(int signal) { (void)signal; stopping = 1; }

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: listeners PORT ADDRESS...\n"); return 2; }
    struct sigaction action = {0};
    action.sa_handler = stop;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0) { files.rlim_cur = files.rlim_max; setrlimit(RLIMIT_NOFILE, &files); }
    int port = atoi(argv[1]);
    int listeners = argc - 2;
    int poller = epoll_create1(0);
    if (poller < 0) { perror("epoll_create1"); return 1; }
    for (int i = 2; i < argc; i++) {
        struct sockaddr_in address = {0};
        address.sin_family = AF_INET;
        address.sin_port = htons((unsigned short)port);
        if (inet_pton(AF_INET, argv[i], &address.sin_addr) != 1) { fprintf(stderr, "not an address: %s\n", argv[i]); return 2; }
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, 4096) != 0) {
            fprintf(stderr, "listen %s:%d: %s\n", argv[i], port, strerror(errno));
            return 1;
        }
        struct epoll_event event = {.events = EPOLLIN, .data.u64 = (unsigned long long)fd << 1 | 1};
        epoll_ctl(poller, EPOLL_CTL_ADD, fd, &event);
    }
    printf("listening\n");
    fflush(stdout);
    (void)listeners;
    unsigned long long accepted = 0;
    struct epoll_event events[256];
    struct linger reset = {.l_onoff = 1, .l_linger = 0};
    while (!stopping) {
        int ready = epoll_wait(poller, events, 256, 200);
        for (int i = 0; i < ready; i++) {
            int fd = (int)(events[i].data.u64 >> 1);
            if (!(events[i].data.u64 & 1)) {  /* a connection: the peer closed or reset it */
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
                close(fd);
                continue;
            }
            for (;;) {
                int connection = accept4(fd, NULL, NULL, SOCK_NONBLOCK);
                if (connection < 0) break;
                accepted++;
                struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = (unsigned long long)connection << 1};
                if (epoll_ctl(poller, EPOLL_CTL_ADD, connection, &event) != 0) close(connection);
            }
        }
    }
    printf("accepted %llu\n", accepted);
    return 0;
}
