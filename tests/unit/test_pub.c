/* The publisher (fcgi/src/pub.c) against a small fake Redis on a unix socket, in a thread:
 * messages reach Redis in the order they were published, run by the script's SHA-1, also
 * more of them in flight than the publisher holds; after the script is lost (SCRIPT FLUSH)
 * the messages refused with NOSCRIPT are sent again with the script, still in order; a
 * message whose reply is an error, or never comes, is counted as dropped, and so is one
 * published while the connection is backing off. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pub.h"
#include "suites.h"

struct fake {
    int lfd;
    char dir[64], path[108];
    pthread_t t;
    /* What to do with the n-th EVALSHA (1-based; 0: never). From noscript_on on, every
     * EVALSHA is refused until an EVAL loads the script again, as after a SCRIPT FLUSH. */
    int noscript_on, error_on, close_on;
    int evalsha, loaded_again;
    /* Messages typed "n<k>": k must grow by one each time Redis runs one. */
    int last_n, disorder;
    long counter;
    char log[16][80]; /* "EVALSHA <type>" / "EVAL <type>" in the order Redis ran them */
    int nlog;
};

/* Reads one RESP array of bulk strings into argv (malloc'd); its length, or -1 at EOF. */
static int fake_command(FILE *in, char **argv, int max)
{
    char line[64];
    int n;
    if (!fgets(line, sizeof(line), in) || line[0] != '*')
        return -1;
    n = atoi(line + 1);
    for (int i = 0; i < n; i++) {
        if (!fgets(line, sizeof(line), in) || line[0] != '$')
            return -1;
        size_t len = (size_t)atol(line + 1);
        char *a = malloc(len + 3);
        if (!a || fread(a, 1, len + 2, in) != len + 2) {
            free(a);
            return -1;
        }
        a[len] = '\0';
        if (i < max)
            argv[i] = a;
        else
            free(a);
    }
    return n < max ? n : max;
}

/* The type of a published message ({"project":…,"type":"X",…}). */
static void fake_type(const char *msg, char *out, size_t cap)
{
    const char *t = strstr(msg, "\"type\":\"");
    snprintf(out, cap, "%.*s", t ? (int)strcspn(t + 8, "\"") : 1, t ? t + 8 : "?");
}

static void fake_order(struct fake *f, const char *type)
{
    int k;
    if (sscanf(type, "n%d", &k) != 1)
        return;
    if (k != f->last_n + 1)
        f->disorder++;
    f->last_n = k;
}

static void *fake_serve(void *arg)
{
    struct fake *f = arg;
    for (;;) {
        int fd = accept(f->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        FILE *in = fdopen(fd, "r");
        char *argv[8];
        int n;
        while ((n = fake_command(in, argv, 8)) > 0) {
            char out[128], type[32];
            const char *reply = out;
            if (n == 3 && strcmp(argv[0], "SCRIPT") == 0) {
                reply = "$40\r\n0123456789abcdef0123456789abcdef01234567\r\n";
            } else if (strcmp(argv[0], "PING") == 0) {
                reply = "+PONG\r\n";
            } else if (n == 8 && strcmp(argv[0], "EVALSHA") == 0) {
                int k = ++f->evalsha;
                if (k == f->close_on) {
                    for (int i = 0; i < n; i++)
                        free(argv[i]);
                    break;
                }
                if (f->noscript_on && k >= f->noscript_on && !f->loaded_again) {
                    reply = "-NOSCRIPT No matching script. Please use EVAL.\r\n";
                } else if (k == f->error_on) {
                    reply = "-ERR boom\r\n";
                } else {
                    fake_type(argv[6], type, sizeof(type));
                    fake_order(f, type);
                    snprintf(f->log[f->nlog++ % 16], 80, "EVALSHA %s", type);
                    snprintf(out, sizeof(out), ":%ld\r\n", ++f->counter);
                }
            } else if (n == 8 && strcmp(argv[0], "EVAL") == 0) {
                f->loaded_again = 1;
                fake_type(argv[6], type, sizeof(type));
                fake_order(f, type);
                snprintf(f->log[f->nlog++ % 16], 80, "EVAL %s", type);
                snprintf(out, sizeof(out), ":%ld\r\n", ++f->counter);
            } else {
                reply = "-ERR unknown\r\n";
            }
            (void)!write(fd, reply, strlen(reply));
            for (int i = 0; i < n; i++)
                free(argv[i]);
        }
        fclose(in);
    }
}

static void fake_start(struct fake *f, struct pub *p)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    struct config_redis_addr ra = {.is_unix = 1};

    snprintf(f->dir, sizeof(f->dir), "/tmp/rw-pubtest.XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/redis.sock", f->dir);
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->path);
    f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    CU_ASSERT_FATAL(f->lfd >= 0 && bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
                    listen(f->lfd, 4) == 0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&f->t, NULL, fake_serve, f), 0);
    snprintf(ra.host, sizeof(ra.host), "%s", f->path);
    pub_init(p, &ra);
}

static void fake_stop(struct fake *f, struct pub *p)
{
    pub_fini(p);
    shutdown(f->lfd, SHUT_RDWR);
    close(f->lfd);
    pthread_join(f->t, NULL);
    unlink(f->path);
    rmdir(f->dir);
}

static void publish3(struct pub *p)
{
    CU_ASSERT_EQUAL(pub_event(p, "1", "t.one", NULL, "{}"), 0);
    CU_ASSERT_EQUAL(pub_event(p, "1", "t.two", "r", "{\"a\":1}"), 0);
    pub_event(p, "1", "t.three", NULL, NULL);
    pub_flush(p);
    CU_ASSERT_FALSE(pub_pending(p));
}

static void test_in_order(void)
{
    struct fake f = {0};
    struct pub p;
    char err[128];

    fake_start(&f, &p);
    publish3(&p);
    CU_ASSERT_EQUAL(p.published, 3);
    CU_ASSERT_EQUAL(p.dropped, 0);
    CU_ASSERT_EQUAL_FATAL(f.nlog, 3);
    CU_ASSERT_STRING_EQUAL(f.log[0], "EVALSHA t.one");
    CU_ASSERT_STRING_EQUAL(f.log[1], "EVALSHA t.two");
    CU_ASSERT_STRING_EQUAL(f.log[2], "EVALSHA t.three");
    /* Readiness reads past nothing left unanswered. */
    CU_ASSERT_EQUAL(pub_event(&p, "1", "t.four", NULL, NULL), 0);
    CU_ASSERT_EQUAL(pub_ping(&p, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(p.published, 4);
    fake_stop(&f, &p);
}

static void test_noscript(void)
{
    struct fake f = {.noscript_on = 2};
    struct pub p;

    fake_start(&f, &p);
    publish3(&p);
    CU_ASSERT_EQUAL(p.published, 3);
    CU_ASSERT_EQUAL(p.dropped, 0);
    CU_ASSERT_EQUAL_FATAL(f.nlog, 3);
    /* t.three was sent by SHA-1 before t.two's refusal was read: refused alike, it is
     * sent again after t.two. */
    CU_ASSERT_STRING_EQUAL(f.log[0], "EVALSHA t.one");
    CU_ASSERT_STRING_EQUAL(f.log[1], "EVAL t.two");
    CU_ASSERT_STRING_EQUAL(f.log[2], "EVAL t.three");
    fake_stop(&f, &p);
}

static void test_error_reply(void)
{
    struct fake f = {.error_on = 2};
    struct pub p;

    fake_start(&f, &p);
    publish3(&p);
    CU_ASSERT_EQUAL(p.published, 2);
    CU_ASSERT_EQUAL(p.dropped, 1);
    CU_ASSERT_EQUAL_FATAL(f.nlog, 2);
    CU_ASSERT_STRING_EQUAL(f.log[1], "EVALSHA t.three");
    fake_stop(&f, &p);
}

/* The connection dies with the second message unanswered: it is dropped when its reply
 * is read, and the third, published within the second of backoff, is dropped at once. */
static void test_lost_reply(void)
{
    struct fake f = {.close_on = 2};
    struct pub p;

    fake_start(&f, &p);
    CU_ASSERT_EQUAL(pub_event(&p, "1", "t.one", NULL, "{}"), 0);
    CU_ASSERT_EQUAL(pub_event(&p, "1", "t.two", NULL, "{}"), 0);
    pub_flush(&p);
    CU_ASSERT_EQUAL(p.published, 1);
    CU_ASSERT_EQUAL(p.dropped, 1);
    CU_ASSERT_FALSE(pub_pending(&p));
    CU_ASSERT_EQUAL(pub_event(&p, "1", "t.three", NULL, "{}"), -1);
    CU_ASSERT_EQUAL(p.dropped, 2);
    CU_ASSERT_FALSE(pub_pending(&p));
    fake_stop(&f, &p);
}

/* More messages than the publisher keeps in flight, without a flush between them: each
 * reaches Redis once, in order, and is counted; replies are read only as room is needed. */
static void test_many_in_flight(void)
{
    struct fake f = {0};
    struct pub p;
    char type[16];
    const int n = 3 * PUB_INFLIGHT_MAX + 5;
    int sent = 0, most = 0;

    fake_start(&f, &p);
    for (int i = 1; i <= n; i++) {
        snprintf(type, sizeof(type), "n%d", i);
        sent += pub_event(&p, "1", type, NULL, "{}") == 0;
        if (p.n_inflight > most)
            most = p.n_inflight;
    }
    CU_ASSERT_EQUAL(sent, n);
    CU_ASSERT_EQUAL(most, PUB_INFLIGHT_MAX);
    CU_ASSERT_EQUAL(p.published, (unsigned long)(n - PUB_INFLIGHT_MAX));
    pub_flush(&p);
    CU_ASSERT_FALSE(pub_pending(&p));
    CU_ASSERT_EQUAL(p.published, (unsigned long)n);
    CU_ASSERT_EQUAL(p.dropped, 0);
    CU_ASSERT_EQUAL(f.last_n, n);
    CU_ASSERT_EQUAL(f.disorder, 0);
    fake_stop(&f, &p);
}

/* The script lost with many in flight, the ring full: every refused message goes again
 * with the script, and Redis runs them all once, in the order they were published. */
static void test_noscript_in_flight(void)
{
    struct fake f = {.noscript_on = PUB_INFLIGHT_MAX - 3}; /* refused while the ring is full */
    struct pub p;
    char type[16];
    const int n = 2 * PUB_INFLIGHT_MAX + 7;

    fake_start(&f, &p);
    for (int i = 1; i <= n; i++) {
        snprintf(type, sizeof(type), "n%d", i);
        CU_ASSERT_EQUAL(pub_event(&p, "1", type, NULL, "{}"), 0);
    }
    pub_flush(&p);
    CU_ASSERT_FALSE(pub_pending(&p));
    CU_ASSERT_EQUAL(p.published, (unsigned long)n);
    CU_ASSERT_EQUAL(p.dropped, 0);
    CU_ASSERT_EQUAL(f.counter, n);
    CU_ASSERT_EQUAL(f.last_n, n);
    CU_ASSERT_EQUAL(f.disorder, 0);
    fake_stop(&f, &p);
}

int suite_pub_register(void)
{
    static const struct test_case cases[] = {
        {"messages reach redis in order, by SHA-1", test_in_order},
        {"NOSCRIPT: sent again with the script, before the next", test_noscript},
        {"an error reply counts as dropped", test_error_reply},
        {"a lost reply counts as dropped; backoff drops at once", test_lost_reply},
        {"more in flight than held: in order, each counted once", test_many_in_flight},
        {"NOSCRIPT with many in flight: each again with the script, in order",
         test_noscript_in_flight},
        {NULL, NULL},
    };
    return test_add_suite("pub", cases);
}
