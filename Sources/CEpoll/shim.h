// The Linux calls the health checker's probe loop needs that Swift's Glibc module leaves out: epoll(7) and
// eventfd(2). Headers only; they are in the C library every Linux process links.
#include <sys/epoll.h>
#include <sys/eventfd.h>
