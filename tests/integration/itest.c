/* itest: the plumbing of the integration suites. Everything goes through nginx at
 * RUNWATCH_TEST_URL, as a browser or producer would; only the FastCGI-level tests
 * talk to the api socket directly. */
#include "itest.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
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
                state != 'Z')
                pids[n++] = (pid_t)atoi(de->d_name);
        }
        fclose(f);
    }
    closedir(d);
    return n;
}
