/* hello.c: the tiny HTTP server of Slipway's demo.
 *
 * Answers GET / with a line of text on port 8080 (or $PORT), anything else with 404.
 * It stops cleanly on SIGTERM or SIGINT: in a container it runs as PID 1, where the
 * kernel does not apply default signal actions, so without a handler `docker stop`
 * would wait 10 s and then kill it. */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int listener = -1;
static volatile sig_atomic_t stopping = 0;

/* shutdown() is async-signal-safe and wakes a blocked accept(); if the signal lands
 * just before accept(), that accept() fails at once, so no signal is ever missed. */
static void on_signal(int sig) {
    (void)sig;
    stopping = 1;
    shutdown(listener, SHUT_RDWR);
}

int main(void) {
    const char *env = getenv("PORT");
    int port = env ? atoi(env) : 8080;

    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: let read() see it too */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client hanging up early must not kill the server */

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port),
                               .sin_addr.s_addr = htonl(INADDR_ANY)};
    int one = 1;
    listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0 || setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 16) < 0) {
        perror("hello: cannot listen");
        return 1;
    }
    printf("hello: listening on port %d\n", port);
    fflush(stdout);

    while (!stopping) {
        int client = accept(listener, NULL, NULL);
        if (client < 0) continue; /* EINTR, or the shutdown above: the loop test decides */

        struct timeval timeout = {.tv_sec = 5}; /* one slow client must not stall the rest */
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
        char request[1024];
        ssize_t n = read(client, request, sizeof request - 1);
        request[n > 0 ? n : 0] = '\0';

        int found = strncmp(request, "GET / ", 6) == 0;
        const char *body = found ? "Hello from a tiny container built by Slipway!\n" : "Not found\n";
        dprintf(client, "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                        "Connection: close\r\n\r\n%s",
                found ? "200 OK" : "404 Not Found", strlen(body), body);
        close(client);
    }
    puts("hello: stopped");
    return 0;
}
