/* http: the simulator's client. One libcurl easy handle per thread, so each simulated
 * worker keeps its own connection to nginx, like a real producer process. Every answer
 * is counted by status (and every request that got none as a transport error); the
 * summary is built from these counts only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet.h"

static size_t http_collect(char *data, size_t size, size_t n, void *arg)
{
    struct http *h = arg;
    size_t add = size * n;

    if (h->len + add + 1 > h->cap) {
        size_t cap = h->cap ? h->cap : 4096;
        while (cap < h->len + add + 1)
            cap *= 2;
        char *nb = realloc(h->buf, cap);
        if (!nb)
            return 0; /* libcurl fails the transfer */
        h->buf = nb;
        h->cap = cap;
    }
    memcpy(h->buf + h->len, data, add);
    h->len += add;
    h->buf[h->len] = '\0';
    return add;
}

int http_init(struct http *h, const char *base, const char *token, struct fleet_stats *st)
{
    char auth[512];

    memset(h, 0, sizeof(*h));
    h->base = base;
    h->stats = st;
    if (!(h->curl = curl_easy_init()))
        return -1;
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    struct curl_slist *l = curl_slist_append(NULL, auth);
    struct curl_slist *l2 = l ? curl_slist_append(l, "Content-Type: application/json") : NULL;
    if (!l2) {
        curl_slist_free_all(l);
        curl_easy_cleanup(h->curl);
        h->curl = NULL;
        return -1;
    }
    h->headers = l2;
    /* Threads: no signals from libcurl (its resolver timeouts would use SIGALRM). */
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, 20000L);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, http_collect);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "runwatch-fleet/1");
    return 0;
}

void http_fini(struct http *h)
{
    if (h->curl)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    free(h->buf);
    memset(h, 0, sizeof(*h));
}

long http_call(struct http *h, const char *method, const char *path, json_object *body,
               const char *header, json_object **out)
{
    struct curl_slist *extra = NULL, *hdrs = h->headers;
    const char *text = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : "";
    long status = -1;
    CURLcode rc;

    if (out)
        *out = NULL;
    if (header) {
        /* A private copy of the list with the extra line first; the shared tail is ours. */
        if (!(extra = curl_slist_append(NULL, header)))
            goto out;
        extra->next = h->headers;
        hdrs = extra;
    }
    snprintf(h->url, sizeof(h->url), "%s%s", h->base, path);
    h->len = 0;
    curl_easy_setopt(h->curl, CURLOPT_URL, h->url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h->curl, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, NULL);
    } else {
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
        curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, strcmp(method, "POST") ? method : NULL);
    }
    atomic_fetch_add(&h->stats->n[FLEET_REQUESTS], 1);
    rc = curl_easy_perform(h->curl);
    if (rc != CURLE_OK) {
        atomic_fetch_add(&h->stats->n[FLEET_TRANSPORT_ERRORS], 1);
        goto out;
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 100 && status < 600)
        atomic_fetch_add(&h->stats->status[status], 1);
    if (out && h->len > 0)
        *out = json_tokener_parse(h->buf);
out:
    if (extra) {
        extra->next = NULL; /* the shared list is not this call's to free */
        curl_slist_free_all(extra);
    }
    return status;
}
