/* The floor probe of scripts/bench: answers every datagram by sending it back with QR set, read and
 * written in batches (recvmmsg/sendmmsg), with no lookup and no encoding. Its CPU time per query is what
 * the kernel's loopback UDP path costs a server that does nothing; a real server's CPU per query above
 * it is the work the server itself adds. Usage: floor PORT (binds 127.0.0.1:PORT). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define BATCH 32
#define SIZE 2048

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: floor PORT\n"); return 2; }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)atoi(argv[1]));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof address) != 0) { perror("bind"); return 1; }
    static char buffers[BATCH][SIZE];
    struct sockaddr_in peers[BATCH];
    struct iovec vectors[BATCH];
    struct mmsghdr messages[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            vectors[i].iov_base = buffers[i];
            vectors[i].iov_len = SIZE;
            memset(&messages[i].msg_hdr, 0, sizeof messages[i].msg_hdr);
            messages[i].msg_hdr.msg_name = &peers[i];
            messages[i].msg_hdr.msg_namelen = sizeof peers[i];
            messages[i].msg_hdr.msg_iov = &vectors[i];
            messages[i].msg_hdr.msg_iovlen = 1;
        }
        int count = recvmmsg(fd, messages, BATCH, MSG_WAITFORONE, NULL);
        if (count <= 0) continue;
        for (int i = 0; i < count; i++) {
            vectors[i].iov_len = messages[i].msg_len;
            if (messages[i].msg_len >= 3) buffers[i][2] |= (char)0x80;
        }
        sendmmsg(fd, messages, (unsigned)count, 0);
    }
}
