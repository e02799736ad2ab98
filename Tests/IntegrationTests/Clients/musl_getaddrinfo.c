// getaddrinfo through musl's stub resolver (built with musl-gcc -static): musl before 1.2.4 never retries a
// truncated UDP answer over TCP, so what it resolves is what fits in one 512-byte answer.
// Usage: musl_getaddrinfo NAME. Prints one address a line; exits 0 with at least one, 2 with none.
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s NAME\n", argv[0]);
        return 64;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *result = NULL;
    int status = getaddrinfo(argv[1], "80", &hints, &result);
    if (status != 0) {
        printf("error: %s\n", gai_strerror(status));
        return 2;
    }
    int count = 0;
    for (struct addrinfo *entry = result; entry != NULL; entry = entry->ai_next) {
        char text[INET6_ADDRSTRLEN];
        const void *address = entry->ai_family == AF_INET
            ? (const void *)&((struct sockaddr_in *)entry->ai_addr)->sin_addr
            : (const void *)&((struct sockaddr_in6 *)entry->ai_addr)->sin6_addr;
        if (inet_ntop(entry->ai_family, address, text, sizeof text) != NULL) {
            printf("%s\n", text);
            count++;
        }
    }
    freeaddrinfo(result);
    return count > 0 ? 0 : 2;
}
