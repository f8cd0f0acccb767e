/* itest: the plumbing of the integration suites. Everything goes through nginx at
 * RUNWATCH_TEST_URL, as a browser or producer would; only the FastCGI-level tests
 * talk to the api socket directly. */
#include "itest.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    struct http_resp *r = ud;
    size_t add = sz * n;
    char *nb = realloc(r->body, r->len + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + r->len, p, add);
    r->body = nb;
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    struct http_resp *r = ud;
    size_t add = sz * n;
    if (r->hlen + add < sizeof(r->headers)) {
        memcpy(r->headers + r->hlen, p, add);
        r->hlen += add;
        r->headers[r->hlen] = '\0';
    }
    return add;
}

int http_do(const char *method, const char *path, const char *body, size_t body_len,
            const char *const *headers, struct http_resp *out)
{
    return http_do_from(NULL, method, path, body, body_len, headers, out);
}

int http_do_from(const char *source, const char *method, const char *path, const char *body,
                 size_t body_len, const char *const *headers, struct http_resp *out)
{
    char iface[64];
    const char *base = getenv("RUNWATCH_TEST_URL");
    char url[4096];
    struct curl_slist *hl = NULL;
    CURL *c;
    CURLcode rc;

    memset(out, 0, sizeof(*out));
    if (!base)
        return -1;
    snprintf(url, sizeof(url), "%s%s", base, path);
    c = curl_easy_init();
    if (!c)
        return -1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    /* Only a hang runs this long (a wait of POST /runs/wait is at most 30 s). */
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(ITEST_WAIT_MS / 1000));
    if (source) {
        /* "host!": an address to bind, never taken for an interface's name. */
        snprintf(iface, sizeof(iface), "host!%s", source);
        curl_easy_setopt(c, CURLOPT_INTERFACE, iface);
    }
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    hl = curl_slist_append(hl, "Expect:");
    for (; headers && *headers; headers++)
        hl = curl_slist_append(hl, *headers);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    else
        fprintf(stderr, "curl %s %s: %s\n", method, path, curl_easy_strerror(rc));
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    if (out->body)
        out->json = json_tokener_parse(out->body);
    return rc == CURLE_OK ? 0 : -1;
}

int http_get(const char *path, struct http_resp *out)
{
    return http_do("GET", path, NULL, 0, NULL, out);
}

void http_resp_free(struct http_resp *r)
{
    free(r->body);
    json_object_put(r->json);
    memset(r, 0, sizeof(*r));
}

const char *http_header(const struct http_resp *r, const char *name, char *buf, size_t cap)
{
    size_t nl = strlen(name);
    const char *line = r->headers;
    while (line && *line) {
        const char *eol = strstr(line, "\r\n");
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            size_t len;
            while (*v == ' ')
                v++;
            len = eol ? (size_t)(eol - v) : strlen(v);
            if (len >= cap)
                len = cap - 1;
            memcpy(buf, v, len);
            buf[len] = '\0';
            return buf;
        }
        line = eol ? eol + 2 : NULL;
    }
    return NULL;
}

const char *http_error_code(const struct http_resp *r)
{
    json_object *e, *c;
    if (!r->json || !json_object_object_get_ex(r->json, "error", &e) ||
        !json_object_object_get_ex(e, "code", &c))
        return NULL;
    return json_object_get_string(c);
}

const char *http_json_string(const struct http_resp *r, const char *key)
{
    json_object *v;
    if (!r->json || !json_object_object_get_ex(r->json, key, &v))
        return NULL;
    return json_object_get_string(v);
}

int stack_cmd(const char *cmd)
{
    char line[1024];
    const char *stack = getenv("RUNWATCH_TEST_STACK");
    if (!stack)
        return -1;
    snprintf(line, sizeof(line), "'%s' %s >/dev/null 2>&1", stack, cmd);
    return system(line);
}

const char *var_path(const char *rel, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s", getenv("RUNWATCH_VAR_DIR") ? getenv("RUNWATCH_VAR_DIR") : "var",
             rel);
    return buf;
}

int api_master_pid(void)
{
    char path[1024];
    int pid = -1;
    FILE *f = fopen(var_path("run/api.pid", path, sizeof(path)), "r");
    if (!f)
        return -1;
    if (fscanf(f, "%d", &pid) != 1)
        pid = -1;
    fclose(f);
    return pid;
}

/* The master's other child, the housekeeper, is not a worker: its argv[1] says so. */
static int itest_is_housekeeper(const char *pid)
{
    char path[300], cmd[256] = "";
    size_t len = 0;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
    f = fopen(path, "r");
    if (f) {
        len = fread(cmd, 1, sizeof(cmd) - 1, f);
        fclose(f);
    }
    cmd[len] = '\0';
    size_t a0 = strlen(cmd);
    return a0 + 1 < len && strcmp(cmd + a0 + 1, "housekeeper") == 0;
}

int api_worker_pids(pid_t *pids, int max)
{
    int master = api_master_pid(), n = 0;
    DIR *d = opendir("/proc");
    struct dirent *de;

    if (master <= 0 || !d) {
        if (d)
            closedir(d);
        return -1;
    }
    while ((de = readdir(d)) != NULL && n < max) {
        char path[300], buf[512];
        FILE *f;
        int ppid = 0;
        char state;
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(buf, sizeof(buf), f)) {
            /* pid (comm) state ppid: comm may hold spaces, so parse after the last ')' */
            char *rp = strrchr(buf, ')');
            if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == master &&
                state != 'Z' && !itest_is_housekeeper(de->d_name))
                pids[n++] = (pid_t)atoi(de->d_name);
        }
        fclose(f);
    }
    closedir(d);
    return n;
}

/* ---- identities and the API ---- */

int api_req(const struct ident *id, const char *method, const char *path, const char *body,
            unsigned flags, const char *const *extra, struct http_resp *out)
{
    char cred[400];
    const char *hdr[24];
    int n = 0;

    if (body)
        hdr[n++] =
            flags & API_CT_TEXT ? "Content-Type: text/plain" : "Content-Type: application/json";
    if (id && id->kind == IDENT_SESSION) {
        snprintf(cred, sizeof(cred), "Cookie: rw_session=%s", id->secret);
        hdr[n++] = cred;
    } else if (id && id->kind == IDENT_TOKEN) {
        snprintf(cred, sizeof(cred), "Authorization: Bearer %s", id->secret);
        hdr[n++] = cred;
    }
    if ((!id || id->kind != IDENT_TOKEN) && !(flags & API_NO_CSRF))
        hdr[n++] = "X-Runwatch-CSRF: 1";
    for (; extra && *extra && n < 23; extra++)
        hdr[n++] = *extra;
    hdr[n] = NULL;
    /* nginx throttles logins per address (the foundation suite tests that); these
     * suites sign in often and are not about throttling, so a login's 429 is waited
     * out. Any other 429 is the answer under test. */
    int is_login = strcmp(path, "/api/v1/auth/login") == 0;
    double deadline = itest_now_s() + ITEST_WAIT_MS / 1000.0;
    for (;;) {
        int rc = http_do_from(flags & API_FROM_ALT ? ITEST_ALT_SOURCE : NULL, method, path, body,
                              body ? strlen(body) : 0, hdr, out);
        if (rc != 0 || out->status != 429 || !is_login || itest_now_s() >= deadline)
            return rc;
        http_resp_free(out);
        nanosleep(&(struct timespec){0, 100000000L}, NULL);
    }
}

int api_call(const struct ident *id, const char *method, const char *path, const char *body,
             struct http_resp *out)
{
    return api_req(id, method, path, body, 0, NULL, out);
}

long api_login(struct ident *id)
{
    static const struct ident anon = {.kind = IDENT_ANON};
    struct http_resp r;
    char body[512], cookie[256];
    long status;
    json_object *u, *v;

    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", id->email, id->password);
    if (api_call(&anon, "POST", "/api/v1/auth/login", body, &r) != 0)
        return -1;
    status = r.status;
    if (status == 200) {
        if (!http_set_cookie_value(&r, "rw_session", cookie, sizeof(cookie)) || !*cookie) {
            status = -2;
        } else {
            id->kind = IDENT_SESSION;
            snprintf(id->secret, sizeof(id->secret), "%s", cookie);
            secret_note("session cookie", cookie);
            if (r.json && json_object_object_get_ex(r.json, "user", &u) &&
                json_object_object_get_ex(u, "id", &v))
                id->user_id = json_object_get_int64(v);
        }
    }
    http_resp_free(&r);
    return status;
}

const char *http_set_cookie_value(const struct http_resp *r, const char *name, char *buf,
                                  size_t cap)
{
    char line[1024];
    size_t nl = strlen(name), len;

    if (!http_header(r, "Set-Cookie", line, sizeof(line)))
        return NULL;
    if (strncmp(line, name, nl) != 0 || line[nl] != '=')
        return NULL;
    len = strcspn(line + nl + 1, ";");
    if (len >= cap)
        return NULL;
    memcpy(buf, line + nl + 1, len);
    buf[len] = '\0';
    return buf;
}

static const char *http_error_member(const struct http_resp *r, const char *key)
{
    json_object *e, *c;
    if (!r->json || !json_object_object_get_ex(r->json, "error", &e) ||
        !json_object_object_get_ex(e, key, &c))
        return NULL;
    return json_object_get_string(c);
}

const char *http_error_field(const struct http_resp *r)
{
    return http_error_member(r, "field");
}

const char *http_error_message(const struct http_resp *r)
{
    return http_error_member(r, "message");
}

long long http_json_int(const struct http_resp *r, const char *key)
{
    char first[64];
    const char *dot = strchr(key, '.');
    json_object *o = r->json, *v;

    if (dot) {
        snprintf(first, sizeof(first), "%.*s", (int)(dot - key), key);
        if (!o || !json_object_object_get_ex(o, first, &o))
            return -1;
        key = dot + 1;
    }
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return -1;
    return json_object_get_int64(v);
}

static void random_hex(char *out, size_t nbytes)
{
    unsigned char raw[32];
    if (nbytes > sizeof(raw))
        nbytes = sizeof(raw);
    if (getrandom(raw, nbytes, 0) != (ssize_t)nbytes)
        for (size_t i = 0; i < nbytes; i++)
            raw[i] = (unsigned char)rand();
    for (size_t i = 0; i < nbytes; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

const char *itest_unique(const char *prefix, char *buf, size_t cap)
{
    static unsigned counter;
    char hex[9];
    random_hex(hex, 4);
    snprintf(buf, cap, "%s-%u-%s", prefix, ++counter, hex);
    return buf;
}

const char *itest_password(char *buf, size_t cap)
{
    char hex[21];
    random_hex(hex, 10);
    snprintf(buf, cap, "Pw-%s!", hex);
    secret_note("password", buf);
    return buf;
}

/* Appends s to out in single quotes for sh. */
static int sh_quote(char *out, size_t cap, const char *s)
{
    size_t o = strlen(out);
    if (o + 1 >= cap)
        return -1;
    out[o++] = '\'';
    for (; *s; s++) {
        if (*s == '\'') {
            if (o + 4 >= cap)
                return -1;
            memcpy(out + o, "'\\''", 4);
            o += 4;
        } else {
            if (o + 1 >= cap)
                return -1;
            out[o++] = *s;
        }
    }
    if (o + 1 >= cap)
        return -1;
    out[o++] = '\'';
    out[o] = '\0';
    return 0;
}

static int itest_psql_via(const char *sub, const char *sql, char *out, size_t cap);

int itest_psql(const char *sql, char *out, size_t cap)
{
    return itest_psql_via("psql", sql, out, cap);
}

int itest_psql_admin(const char *sql, char *out, size_t cap)
{
    return itest_psql_via("psql-admin", sql, out, cap);
}

static int itest_psql_via(const char *sub, const char *sql, char *out, size_t cap)
{
    char cmd[16384] = "";
    const char *stack = getenv("RUNWATCH_TEST_STACK");
    char line[1024];
    size_t o = 0;
    FILE *p;
    int st;

    if (!stack || sh_quote(cmd, sizeof(cmd), stack) != 0)
        return -1;
    snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " %s -X -q -A -t -v ON_ERROR_STOP=1 -c ",
             sub);
    if (sh_quote(cmd, sizeof(cmd), sql) != 0)
        return -1;
    snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " 2>&1");
    if (out && cap)
        out[0] = '\0';
    p = popen(cmd, "r");
    if (!p)
        return -1;
    while (fgets(line, sizeof(line), p)) {
        size_t n = strlen(line);
        if (out && o + n < cap) {
            memcpy(out + o, line, n + 1);
            o += n;
        }
    }
    st = pclose(p);
    while (out && o > 0 && (out[o - 1] == '\n' || out[o - 1] == '\r'))
        out[--o] = '\0';
    if (st != 0 && out)
        fprintf(stderr, "psql failed: %s\n", out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int itest_cli_user_add(const char *email, const char *name, int admin, const char *password)
{
    char cmd[4096] = "";
    const char *bin = getenv("RUNWATCH_BIN_DIR");
    char exe[1024];
    FILE *p;
    int st;

    snprintf(exe, sizeof(exe), "%s/runwatch-api", bin ? bin : "build/release");
    if (sh_quote(cmd, sizeof(cmd), exe) != 0)
        return -1;
    snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " user add --email ");
    if (sh_quote(cmd, sizeof(cmd), email) != 0)
        return -1;
    snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " --name ");
    if (sh_quote(cmd, sizeof(cmd), name) != 0)
        return -1;
    snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), "%s --password-stdin >/dev/null",
             admin ? " --admin" : "");
    p = popen(cmd, "w");
    if (!p)
        return -1;
    fprintf(p, "%s\n", password);
    st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int itest_instance_admin(struct ident *out)
{
    static struct ident admin;
    static int made;

    if (!made) {
        snprintf(admin.email, sizeof(admin.email), "root-admin@runwatch.test");
        itest_password(admin.password, sizeof(admin.password));
        /* A second run against the same stack finds the user there: the login decides. */
        if (itest_cli_user_add(admin.email, "Root Admin", 1, admin.password) != 0)
            fprintf(stderr, "note: `runwatch-api user add` for the instance admin failed\n");
        made = 1;
    }
    *out = admin;
    return api_login(out) == 200 ? 0 : -1;
}

/* ---- secrets ---- */

#define SECRETS_MAX 4096

static struct {
    const char *kind;
    char *value;
} secrets[SECRETS_MAX];
static int n_secrets;

void secret_note(const char *kind, const char *value)
{
    if (!value || strlen(value) < 8)
        return;
    for (int i = 0; i < n_secrets; i++)
        if (strcmp(secrets[i].value, value) == 0)
            return;
    if (n_secrets < SECRETS_MAX) {
        secrets[n_secrets].kind = kind;
        secrets[n_secrets].value = strdup(value);
        if (secrets[n_secrets].value)
            n_secrets++;
    }
}

int secrets_in_text(const char *text, size_t len, const char *where)
{
    int hits = 0;
    for (int i = 0; i < n_secrets; i++) {
        if (memmem(text, len, secrets[i].value, strlen(secrets[i].value))) {
            fprintf(stderr, "\n  SECRET LEAK: a %s appears in %s\n", secrets[i].kind, where);
            hits++;
        }
    }
    return hits;
}

static int b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

/* True when text holds something shaped like a whole API token, rw_<8>_<43>: tokens the
 * server made but never showed us (a failed create) are caught by their shape. */
static int token_shaped(const char *text, size_t len)
{
    for (const char *p = text; (p = memmem(p, len - (size_t)(p - text), "rw_", 3)) != NULL;
         p += 3) {
        size_t left = len - (size_t)(p - text), i = 3, k;
        for (k = 0; i < left && k < 8 && b64url(p[i]); i++, k++)
            ;
        if (k != 8 || i >= left || p[i] != '_')
            continue;
        for (i++, k = 0; i < left && b64url(p[i]); i++, k++)
            ;
        if (k >= 40)
            return 1;
    }
    return 0;
}

static int scan_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int hits = 0;

    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL) {
        char path[2048];
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (lstat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            hits += scan_dir(path);
        } else if (S_ISREG(st.st_mode)) {
            FILE *f = fopen(path, "rb");
            char *buf = f ? malloc((size_t)st.st_size + 1) : NULL;
            size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
            if (buf) {
                hits += secrets_in_text(buf, n, path);
                if (token_shaped(buf, n)) {
                    fprintf(stderr, "\n  SECRET LEAK: a token-shaped string appears in %s\n", path);
                    hits++;
                }
            } else
                fprintf(stderr, "\n  cannot read %s\n", path);
            free(buf);
            if (f)
                fclose(f);
        }
    }
    closedir(d);
    return hits;
}

int secrets_scan_logs(void)
{
    char dir[1024];
    return scan_dir(var_path("log", dir, sizeof(dir)));
}

FILE *itest_psql_session(void)
{
    char cmd[2048] = "";
    const char *stack = getenv("RUNWATCH_TEST_STACK");
    FILE *p;

    if (!stack || sh_quote(cmd, sizeof(cmd), stack) != 0)
        return NULL;
    snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd),
             " psql -X -q -v ON_ERROR_STOP=1 -o /dev/null >/dev/null 2>&1");
    if (!(p = popen(cmd, "w")))
        return NULL;
    setvbuf(p, NULL, _IONBF, 0);
    return p;
}

const char *repo_path(const char *rel, char *buf, size_t cap)
{
    const char *repo = getenv("RUNWATCH_REPO_DIR");
    const char *stack = getenv("RUNWATCH_TEST_STACK");

    if (repo && *repo) {
        snprintf(buf, cap, "%s/%s", repo, rel);
    } else if (stack && strstr(stack, "/deploy/stack.sh")) {
        /* run.sh sets RUNWATCH_TEST_STACK to <repo>/deploy/stack.sh. */
        snprintf(buf, cap, "%.*s/%s", (int)(strstr(stack, "/deploy/stack.sh") - stack), stack, rel);
    } else {
        snprintf(buf, cap, "%s", rel);
    }
    return buf;
}

/* ---- Redis subscriber ---- */

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Reads what is there, waiting at most timeout_ms for the first byte. */
static int sub_fill(struct itest_sub *s, int timeout_ms)
{
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    ssize_t n;

    if (timeout_ms < 0 || poll(&p, 1, timeout_ms) != 1)
        return -1;
    if (s->cap - s->len < 4096) {
        size_t cap = s->cap ? 2 * s->cap : 65536;
        char *nb = realloc(s->buf, cap);
        if (!nb)
            return -1;
        s->buf = nb;
        s->cap = cap;
    }
    n = read(s->fd, s->buf + s->len, s->cap - s->len);
    if (n <= 0)
        return -1;
    s->len += (size_t)n;
    return 0;
}

/* Parses one RESP array of bulk strings and integers at the start of the buffer: 1 with
 * its first three elements (pointers into the buffer) and *used, 0 when incomplete, -1
 * when it is something else. */
static int sub_parse(const struct itest_sub *s, size_t *used, const char *item[3], size_t ilen[3])
{
    const char *b = s->buf, *eol;
    size_t pos, len = s->len;
    long n;

    if (len == 0)
        return 0;
    if (b[0] != '*')
        return -1;
    if (!(eol = memmem(b, len, "\r\n", 2)))
        return 0;
    n = strtol(b + 1, NULL, 10);
    pos = (size_t)(eol - b) + 2;
    for (long i = 0; i < n; i++) {
        const char *it;
        size_t il;
        if (pos >= len || !(eol = memmem(b + pos, len - pos, "\r\n", 2)))
            return 0;
        if (b[pos] == ':') {
            it = b + pos + 1;
            il = (size_t)(eol - it);
            pos = (size_t)(eol - b) + 2;
        } else if (b[pos] == '$') {
            long bl = strtol(b + pos + 1, NULL, 10);
            size_t start = (size_t)(eol - b) + 2;
            if (bl < 0)
                return -1;
            if (start + (size_t)bl + 2 > len)
                return 0;
            it = b + start;
            il = (size_t)bl;
            pos = start + (size_t)bl + 2;
        } else {
            return -1;
        }
        if (i < 3) {
            item[i] = it;
            ilen[i] = il;
        }
    }
    if (n < 3)
        return -1;
    *used = pos;
    return 1;
}

/* The next array whose first element is kind: its third element, malloc'd. */
static char *sub_next_of(struct itest_sub *s, const char *kind, int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;

    for (;;) {
        const char *item[3];
        size_t ilen[3], used = 0;
        int rc = sub_parse(s, &used, item, ilen);
        if (rc < 0)
            return NULL;
        if (rc == 1) {
            char *out = NULL;
            if (ilen[0] == strlen(kind) && memcmp(item[0], kind, ilen[0]) == 0 &&
                (out = malloc(ilen[2] + 1)) != NULL) {
                memcpy(out, item[2], ilen[2]);
                out[ilen[2]] = '\0';
            }
            memmove(s->buf, s->buf + used, s->len - used);
            s->len -= used;
            if (out)
                return out;
            continue;
        }
        if (sub_fill(s, (int)(deadline - now_ms())) != 0)
            return NULL;
    }
}

int itest_scrape(struct http_resp *out)
{
    char path[600], tok[256], line[300];
    const char *hdr[] = {line, NULL};
    FILE *f = fopen(var_path("metrics.token", path, sizeof(path)), "r");

    tok[0] = '\0';
    if (f) {
        if (!fgets(tok, sizeof(tok), f))
            tok[0] = '\0';
        fclose(f);
    }
    tok[strcspn(tok, "\r\n")] = '\0';
    snprintf(line, sizeof(line), "Authorization: Bearer %s", tok);
    return http_do("GET", "/metrics", NULL, 0, hdr, out);
}

double itest_metric(const char *series)
{
    struct http_resp r;
    double v = -1;
    size_t n = strlen(series);

    if (itest_scrape(&r) == 0 && r.status == 200 && r.body) {
        /* At a line's start, followed by the value. */
        for (const char *p = r.body; (p = strstr(p, series)); p += n)
            if ((p == r.body || p[-1] == '\n') && p[n] == ' ') {
                v = strtod(p + n + 1, NULL);
                break;
            }
    }
    http_resp_free(&r);
    return v;
}

const char *itest_redis_password(char *buf, size_t cap)
{
    char path[1024];
    FILE *f = fopen(var_path("run/redis.password", path, sizeof(path)), "r");

    buf[0] = '\0';
    if (f) {
        if (!fgets(buf, (int)cap, f))
            buf[0] = '\0';
        fclose(f);
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

/* A new TCP connection to the stack's Redis, or -1. */
static int redis_connect(void)
{
    const char *port = getenv("RUNWATCH_REDIS_PORT");
    struct sockaddr_in a = {.sin_family = AF_INET};
    int fd;

    if (!port)
        return -1;
    a.sin_port = htons((unsigned short)atoi(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* argv as one RESP array into buf; its length, or 0 when it does not fit. */
static size_t redis_format(char *buf, size_t cap, int argc, const char *const *argv)
{
    size_t o = (size_t)snprintf(buf, cap, "*%d\r\n", argc);

    for (int i = 0; i < argc && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
    return o < cap ? o : 0;
}

char *itest_redis_anon(int argc, const char *const *argv)
{
    struct itest_sub s = {.fd = redis_connect()};
    char cmd[4096], *eol, *out = NULL;
    size_t n = redis_format(cmd, sizeof(cmd), argc, argv);

    if (s.fd < 0 || !n || write(s.fd, cmd, n) != (ssize_t)n)
        goto out;
    while (!(s.buf && (eol = memmem(s.buf, s.len, "\r\n", 2))))
        if (sub_fill(&s, ITEST_WAIT_MS) != 0)
            goto out;
    out = strndup(s.buf, (size_t)(eol - s.buf));
out:
    itest_sub_close(&s);
    return out;
}

int itest_sub_open(struct itest_sub *s, const char *channel)
{
    char cmd[1024], pw[256], *confirm, *eol;
    const char *auth[2] = {"AUTH", itest_redis_password(pw, sizeof(pw))};
    const char *sub[2] = {"SUBSCRIBE", channel};
    size_t n;

    memset(s, 0, sizeof(*s));
    s->fd = redis_connect();
    if (s->fd < 0) {
        itest_sub_close(s);
        return -1;
    }
    /* AUTH's +OK first, before anything is parsed as a message. */
    if (pw[0]) {
        n = redis_format(cmd, sizeof(cmd), 2, auth);
        if (!n || write(s->fd, cmd, n) != (ssize_t)n) {
            itest_sub_close(s);
            return -1;
        }
        while (!(s->buf && (eol = memmem(s->buf, s->len, "\r\n", 2))))
            if (sub_fill(s, ITEST_WAIT_MS) != 0) {
                itest_sub_close(s);
                return -1;
            }
        if (strncmp(s->buf, "+OK", 3) != 0) {
            itest_sub_close(s);
            return -1;
        }
        n = (size_t)(eol - s->buf) + 2;
        memmove(s->buf, s->buf + n, s->len - n);
        s->len -= n;
    }
    n = redis_format(cmd, sizeof(cmd), 2, sub);
    if (!n || write(s->fd, cmd, n) != (ssize_t)n) {
        itest_sub_close(s);
        return -1;
    }
    /* The confirmation's third element is the subscription count. */
    confirm = sub_next_of(s, "subscribe", ITEST_WAIT_MS);
    if (!confirm) {
        itest_sub_close(s);
        return -1;
    }
    free(confirm);
    return 0;
}

char *itest_sub_next(struct itest_sub *s, int timeout_ms)
{
    return s->fd < 0 ? NULL : sub_next_of(s, "message", timeout_ms);
}

json_object *itest_sub_find(struct itest_sub *s, const char *run, const char *type)
{
    json_object *m = NULL;

    /* Other writes of the instance may come first: skip them, up to 200 messages. */
    for (int i = 0; i < 200 && !m; i++) {
        char *msg = itest_sub_next(s, ITEST_WAIT_MS);
        if (!msg)
            break;
        json_object *o = json_tokener_parse(msg);
        free(msg);
        if (o && itest_streq(itest_jstr(o, "run"), run) && itest_streq(itest_jstr(o, "type"), type))
            m = o;
        else
            json_object_put(o);
    }
    return m;
}

void itest_sub_close(struct itest_sub *s)
{
    if (s->fd >= 0)
        close(s->fd);
    free(s->buf);
    memset(s, 0, sizeof(*s));
    s->fd = -1;
}

/* ---- fixtures shared by the suites (the caller is an instance or project admin) ---- */

int itest_make_project(const struct ident *admin, const char *tag, char *slug, size_t cap,
                       long long *id)
{
    struct http_resp r;
    char body[200];
    int rc;

    itest_unique(tag, slug, cap);
    snprintf(body, sizeof(body), "{\"slug\":\"%s\",\"name\":\"%s\"}", slug, slug);
    rc = api_call(admin, "POST", "/api/v1/projects", body, &r) == 0 && r.status == 201 ? 0 : -1;
    *id = http_json_int(&r, "id");
    http_resp_free(&r);
    return rc;
}

int itest_new_user(const struct ident *admin, const char *tag, const char *domain, struct ident *u)
{
    struct http_resp r;
    char body[512], name[64];

    memset(u, 0, sizeof(*u));
    snprintf(u->email, sizeof(u->email), "%s@%s", itest_unique(tag, name, sizeof(name)), domain);
    itest_password(u->password, sizeof(u->password));
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", u->email, u->password);
    if (api_call(admin, "POST", "/api/v1/users", body, &r) != 0 || r.status != 201) {
        fprintf(stderr, "\n  create user: %ld %s", r.status, r.body ? r.body : "");
        http_resp_free(&r);
        return -1;
    }
    u->user_id = http_json_int(&r, "id");
    http_resp_free(&r);
    return 0;
}

long itest_new_token(const struct ident *creator, const char *slug, const char *scopes,
                     const char *expires, struct ident *t)
{
    struct http_resp r;
    char body[400], path[200], name[64];
    long st;

    memset(t, 0, sizeof(*t));
    snprintf(path, sizeof(path), "/api/v1/projects/%s/tokens", slug);
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"scopes\":%s,\"expires_at\":%s}",
             itest_unique("tok", name, sizeof(name)), scopes, expires ? expires : "null");
    if (api_call(creator, "POST", path, body, &r) != 0)
        return -1;
    st = r.status;
    const char *tok = http_json_string(&r, "token");
    if (st == 201 && tok) {
        t->kind = IDENT_TOKEN;
        snprintf(t->secret, sizeof(t->secret), "%s", tok);
        secret_note("API token", t->secret);
        t->token_id = http_json_int(&r, "id");
    }
    http_resp_free(&r);
    return st;
}

int itest_add_member(const struct ident *admin, const char *slug, const char *email,
                     const char *role)
{
    struct http_resp r;
    char body[300], path[200];
    long st;

    snprintf(path, sizeof(path), "/api/v1/projects/%s/members", slug);
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"role\":\"%s\"}", email, role);
    if (api_call(admin, "POST", path, body, &r) != 0)
        return -1;
    st = r.status;
    http_resp_free(&r);
    return st == 201 ? 0 : -1;
}

int itest_new_member(const struct ident *admin, const char *tag, const char *domain,
                     const char *slug, const char *role, struct ident *u)
{
    return itest_new_user(admin, tag, domain, u) == 0 &&
                   itest_add_member(admin, slug, u->email, role) == 0 && api_login(u) == 200
               ? 0
               : -1;
}

int itest_world_projects(struct itest_world *w, const char *tag)
{
    char a[64], b[64];

    memset(w, 0, sizeof(*w));
    snprintf(a, sizeof(a), "%s-a", tag);
    snprintf(b, sizeof(b), "%s-b", tag);
    if (itest_instance_admin(&w->adm) != 0) {
        fprintf(stderr, "cannot sign in the instance admin\n");
        return -1;
    }
    if (itest_make_project(&w->adm, a, w->pa.slug, sizeof(w->pa.slug), &w->pa.id) ||
        itest_make_project(&w->adm, b, w->pb.slug, sizeof(w->pb.slug), &w->pb.id))
        return -1;
    return 0;
}

int itest_world_init(struct itest_world *w, const char *tag)
{
    char domain[80];

    snprintf(domain, sizeof(domain), "%s.test", tag);
    if (itest_world_projects(w, tag))
        return -1;
    if (itest_new_member(&w->adm, "viewer", domain, w->pa.slug, "viewer", &w->viewer) ||
        itest_new_member(&w->adm, "member", domain, w->pa.slug, "member", &w->member) ||
        itest_new_member(&w->adm, "member-b", domain, w->pb.slug, "member", &w->member_b))
        return -1;
    if (itest_new_token(&w->adm, w->pa.slug, "[\"read\"]", NULL, &w->tread) != 201 ||
        itest_new_token(&w->adm, w->pa.slug, "[\"write\"]", NULL, &w->twrite) != 201 ||
        itest_new_token(&w->adm, w->pb.slug, "[\"write\"]", NULL, &w->twrite_b) != 201)
        return -1;
    return 0;
}

long itest_make_run(const struct ident *who, const struct itest_run *run, char *id, size_t cap)
{
    json_object *b = json_object_new_object();
    const char *extra = run->extra, *text;
    struct http_resp r;
    char *body = NULL;
    size_t n;
    long st = -1;

    if (id && cap)
        id[0] = '\0';
    if (!b)
        return -1;
    if (run->project)
        json_object_object_add(b, "project", json_object_new_string(run->project));
    json_object_object_add(b, "kind", json_object_new_string(run->kind ? run->kind : "itest"));
    if (run->status)
        json_object_object_add(b, "status", json_object_new_string(run->status));
    if (run->queue)
        json_object_object_add(b, "queue", json_object_new_string(run->queue));
    if (run->parent)
        json_object_object_add(b, "parent_id", json_object_new_string(run->parent));
    text = json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN);
    /* The extra members go in as text: they may be anything a test needs to send. */
    if (extra && *extra == ',')
        extra++;
    n = strlen(text) + (extra ? strlen(extra) + 1 : 0) + 1;
    if (!(body = malloc(n)))
        goto out;
    if (extra && *extra)
        snprintf(body, n, "%.*s,%s}", (int)strlen(text) - 1, text, extra);
    else
        snprintf(body, n, "%s", text);
    if (api_call(who, "POST", "/api/v1/runs", body, &r) != 0) {
        http_resp_free(&r);
        goto out;
    }
    st = r.status;
    if (st == 201 && http_json_string(&r, "id")) {
        if (id && cap)
            snprintf(id, cap, "%s", http_json_string(&r, "id"));
    } else {
        fprintf(stderr, "\n  create run %.300s: %ld %.300s", body, st, r.body ? r.body : "");
    }
    http_resp_free(&r);
out:
    free(body);
    json_object_put(b);
    return st;
}

/* ---- JSON by path ---- */

int itest_jfind(json_object *o, const char *path, json_object **out)
{
    char key[256];

    while (*path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof(key), "%.*s", (int)n, path);
        if (json_object_is_type(o, json_type_array)) {
            char *end;
            long i = strtol(key, &end, 10);
            if (*end || end == key || i < 0 || (size_t)i >= json_object_array_length(o))
                return 0;
            o = json_object_array_get_idx(o, (size_t)i);
        } else if (!json_object_is_type(o, json_type_object) ||
                   !json_object_object_get_ex(o, key, &o)) {
            return 0;
        }
        path += n + (path[n] == '.');
    }
    *out = o;
    return 1;
}

json_object *itest_jget(json_object *o, const char *path)
{
    json_object *v = NULL;
    return o && itest_jfind(o, path, &v) ? v : NULL;
}

const char *itest_jstr(json_object *o, const char *path)
{
    json_object *v = itest_jget(o, path);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

long long itest_jint(json_object *o, const char *path)
{
    json_object *v = itest_jget(o, path);
    return v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

int itest_jnull(json_object *o, const char *path)
{
    json_object *v = NULL;
    return o && itest_jfind(o, path, &v) && v == NULL;
}

long itest_jlen(json_object *o, const char *path)
{
    json_object *v = itest_jget(o, path);
    return v && json_object_is_type(v, json_type_array) ? (long)json_object_array_length(v) : -1;
}

double itest_jnum(json_object *o, const char *path)
{
    json_object *v = itest_jget(o, path);
    return v && (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))
               ? json_object_get_double(v)
               : -1e300;
}

long long itest_ts_usec(const char *s)
{
    struct tm tm = {0};
    long long usec = 0, scale = 100000;
    int off = 0, oh, om, used = 0;
    const char *p;

    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
        return -1;
    p = s + used;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            usec += (*p - '0') * scale;
    if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &oh, &om) == 2)
        off = (*p == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    else if (*p != 'Z')
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return ((long long)timegm(&tm) - off) * 1000000 + usec;
}

void itest_expand(const char *tmpl, const struct itest_subst *subs, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *s = tmpl; *s && o + 1 < cap;) {
        const struct itest_subst *m = NULL;
        for (const struct itest_subst *k = subs; k->key; k++)
            if (strncmp(s, k->key, strlen(k->key)) == 0) {
                m = k;
                break;
            }
        if (!m) {
            out[o++] = *s++;
            continue;
        }
        size_t n = strlen(m->val);
        if (o + n >= cap)
            break;
        memcpy(out + o, m->val, n);
        o += n;
        s += strlen(m->key);
    }
    out[o] = '\0';
}

/* ---- requests with checks ---- */

static long itest_vcall(const struct ident *who, const char *method, const char *body,
                        struct http_resp *r, const char *fmt, va_list ap)
{
    char path[1024];

    vsnprintf(path, sizeof(path), fmt, ap);
    if (api_call(who, method, path, body, r) != 0)
        return -1;
    return r->status;
}

long itest_callf(const struct ident *who, const char *method, const char *body, struct http_resp *r,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    long st = itest_vcall(who, method, body, r, fmt, ap);
    va_end(ap);
    return st;
}

long itest_statusf(const struct ident *who, const char *method, const char *body, const char *fmt,
                   ...)
{
    struct http_resp r;
    va_list ap;
    va_start(ap, fmt);
    long st = itest_vcall(who, method, body, &r, fmt, ap);
    va_end(ap);
    http_resp_free(&r);
    return st;
}

int itest_is_error(const struct http_resp *r, long status, const char *code, const char *field,
                   const char *file, int line)
{
    const char *c = http_error_code(r), *f = http_error_field(r);
    if (r->status == status && (!code || (c && strcmp(c, code) == 0)) &&
        (!field || (f && strcmp(f, field) == 0)))
        return 1;
    fprintf(stderr, "\n  %s:%d: expected %ld %s field %s, got %ld %.400s", file, line, status,
            code ? code : "-", field ? field : "-", r->status, r->body ? r->body : "(null)");
    return 0;
}

/* ---- fixtures and checks the suites share ---- */

#define ORNULL(s) ((s) ? (s) : "(null)")

int itest_streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

double itest_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

void itest_sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

long itest_get_status(const struct ident *id, const char *path)
{
    struct http_resp r;
    long st = -1;
    if (api_call(id, "GET", path, NULL, &r) == 0)
        st = r.status;
    http_resp_free(&r);
    return st;
}

long itest_status_settles(const struct ident *id, const char *path, long want)
{
    double deadline = itest_now_s() + 30;
    long st;

    while ((st = itest_get_status(id, path)) != want && itest_now_s() < deadline)
        itest_sleep_ms(20);
    return st;
}

void itest_psql_ok(const char *sql)
{
    char out[1024];
    CU_ASSERT_EQUAL(itest_psql(sql, out, sizeof(out)), 0);
}

long itest_login_as(const char *email, const char *pw, char *code, char *msg)
{
    static const struct ident anon = {.kind = IDENT_ANON};
    struct http_resp r;
    char body[400];
    long st;

    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
    if (api_call(&anon, "POST", "/api/v1/auth/login", body, &r) != 0)
        return -1;
    st = r.status;
    snprintf(code, 64, "%s", http_error_code(&r) ? http_error_code(&r) : "");
    snprintf(msg, 200, "%s", http_error_message(&r) ? http_error_message(&r) : "");
    if (http_set_cookie_value(&r, "rw_session", body, sizeof(body)))
        secret_note("session cookie", body);
    http_resp_free(&r);
    return st;
}

int itest_has_schema_keys(json_object *openapi, json_object *obj, const char *schema)
{
    json_object *props;
    int missing = 0;
    char path[128];

    snprintf(path, sizeof(path), "components.schemas.%s.properties", schema);
    if (!(props = itest_jget(openapi, path)))
        return 0;
    json_object_object_foreach(props, k, v)
    {
        json_object *x;
        (void)v;
        if (!itest_jfind(obj, k, &x)) {
            fprintf(stderr, "\n  %s without %s", schema, k);
            missing++;
        }
    }
    return missing == 0;
}

int itest_world_run(const struct itest_world *w, const char *slug, const char *kind,
                    const char *extra, char id[40])
{
    struct itest_run run = {.project = slug, .kind = kind, .extra = extra};
    return itest_make_run(strcmp(slug, w->pa.slug) == 0 ? &w->member : &w->adm, &run, id, 40) == 201
               ? 0
               : -1;
}

int itest_token_run(const struct itest_world *w, const char *status, char id[40])
{
    struct itest_run run = {.kind = "produce", .status = status};
    return itest_make_run(&w->twrite, &run, id, 40) == 201 ? 0 : -1;
}

int itest_queued_run(const struct itest_world *w, const char *slug, const char *queue,
                     const char *kind, int priority, char id[40])
{
    char more[32];
    struct itest_run run = {.project = slug, .kind = kind, .queue = queue, .extra = more};

    snprintf(more, sizeof(more), "\"priority\":%d", priority);
    return itest_make_run(strcmp(slug, w->pb.slug) == 0 ? &w->twrite_b : &w->member, &run, id,
                          40) == 201
               ? 0
               : -1;
}

long itest_run_op(const struct ident *who, const char *method, const char *id, const char *sub,
                  const char *body, struct http_resp *r)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/runs/%s%s", id, sub ? sub : "");
    if (api_call(who, method, path, body, r) != 0)
        return -1;
    return r->status;
}

long itest_run_patch(const struct itest_world *w, const char *id, const char *body)
{
    struct http_resp r;
    long st = itest_run_op(&w->member, "PATCH", id, NULL, body, &r);
    if (st != 200)
        fprintf(stderr, "\n  PATCH %s %s: %ld %s", id, body, st, ORNULL(r.body));
    http_resp_free(&r);
    return st;
}

int itest_run_in(const struct itest_world *w, const char *kind, const char *state, char id[40])
{
    int running = strcmp(state, "queued") && strcmp(state, "cancelled");
    char body[64];

    if (itest_world_run(w, w->pa.slug, kind, running ? ",\"status\":\"running\"" : NULL, id))
        return -1;
    if (strcmp(state, "queued") == 0 || strcmp(state, "running") == 0)
        return 0;
    snprintf(body, sizeof(body), "{\"status\":\"%s\"}", state);
    return itest_run_patch(w, id, body) == 200 ? 0 : -1;
}

long long itest_new_worker(const struct ident *who, const char *slug, const char *name)
{
    struct http_resp r;
    char body[400], fresh[64];
    long long id = -1;

    if (!name)
        name = itest_unique("worker", fresh, sizeof(fresh));
    if (slug)
        snprintf(body, sizeof(body), "{\"project\":\"%s\",\"name\":\"%s\"}", slug, name);
    else
        snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
    if (itest_callf(who, "POST", body, &r, "/api/v1/workers") == 201 || r.status == 200)
        id = itest_jint(r.json, "id");
    else
        fprintf(stderr, "\n  register %s: %ld %s", body, r.status, ORNULL(r.body));
    http_resp_free(&r);
    return id;
}

long itest_claim(const struct ident *who, const char *queue, long long worker, const char *more,
                 char id[40])
{
    struct http_resp r;
    char body[1024];
    long st;

    snprintf(body, sizeof(body), "{\"worker_id\":%lld%s%s}", worker, more ? "," : "",
             more ? more : "");
    st = itest_callf(who, "POST", body, &r, "/api/v1/queues/%s/claim", queue);
    if (id) {
        id[0] = '\0';
        if (st == 200 && itest_jstr(r.json, "id"))
            snprintf(id, 40, "%s", itest_jstr(r.json, "id"));
    }
    if (st != 200 && st != 204)
        fprintf(stderr, "\n  claim %s on %s: %ld %.300s", body, queue, st, ORNULL(r.body));
    http_resp_free(&r);
    return st;
}

long itest_claim_a(const struct itest_world *w, const char *queue, long long worker, char id[40])
{
    char more[128];
    snprintf(more, sizeof(more), "\"project\":\"%s\"", w->pa.slug);
    return itest_claim(&w->member, queue, worker, more, id);
}

long itest_attempt_start(const struct ident *who, const char *run, const char *body,
                         struct http_resp *r)
{
    return itest_callf(who, "POST", body, r, "/api/v1/runs/%s/attempts", run);
}

long itest_attempt_end(const struct ident *who, const char *run, int seq, const char *body,
                       struct http_resp *r)
{
    return itest_callf(who, "PATCH", body, r, "/api/v1/runs/%s/attempts/%d", run, seq);
}

int itest_check_bad(const struct itest_world *w, const struct ident *who,
                    const struct itest_bad *cases, size_t n, const struct itest_bad_targets *t)
{
    static const struct itest_bad_targets none;
    char ws[32], wbs[32];
    int wrong = 0;

    if (!t)
        t = &none;
    snprintf(ws, sizeof(ws), "%lld", t->worker);
    snprintf(wbs, sizeof(wbs), "%lld", t->xworker);
    const struct itest_subst subs[] = {{"{p}", w->pa.slug},
                                       {"{r}", t->run ? t->run : ""},
                                       {"{x}", t->xrun ? t->xrun : ""},
                                       {"{wb}", wbs},
                                       {"{w}", ws},
                                       {NULL, NULL}};
    for (size_t i = 0; i < n; i++) {
        const struct itest_bad *c = &cases[i];
        const char *h[] = {c->header, NULL};
        char path[1024], body[8192];
        struct http_resp r;
        const char *field, *code;

        itest_expand(c->path, subs, path, sizeof(path));
        if (c->body)
            itest_expand(c->body, subs, body, sizeof(body));
        if (api_req(who, c->method, path, c->body ? body : NULL, c->flags, h, &r) != 0) {
            wrong++;
            http_resp_free(&r);
            continue;
        }
        field = http_error_field(&r);
        code = http_error_code(&r);
        if (r.status != c->status || (c->field && !itest_streq(field, c->field)) ||
            (c->code && !itest_streq(code, c->code))) {
            fprintf(stderr, "\n  INPUT %s %.120s %.200s: expected %ld %s field %s, got %ld %.300s",
                    c->method, path, c->body ? body : "", c->status, ORNULL(c->code),
                    ORNULL(c->field), r.status, ORNULL(r.body));
            wrong++;
        }
        http_resp_free(&r);
    }
    return wrong;
}

/* s without the whitespace between JSON tokens (inside strings it stays). */
char *itest_json_squeeze(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    int in_str = 0;
    for (size_t i = 0; out && i < n; i++) {
        char c = s[i];
        if (in_str) {
            *o++ = c;
            if (c == '\\' && i + 1 < n)
                *o++ = s[++i];
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
            *o++ = c;
        } else if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
            *o++ = c;
        }
    }
    if (out)
        *o = '\0';
    return out;
}
