/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"
#include "lib/store/store.h"

/* One registry, one repository: base URL, TLS material, credentials and the
 * token of the last challenge.  Shared by the download threads (lock). */
struct reg_client {
        char *host;       /* as in the reference */
        char *api_host;   /* docker.io -> registry-1.docker.io */
        char *repo;
        char *scheme;     /* "https" or "http" */
        const struct reg_opts *o;
        char *ca;         /* PEM bundle: the system's and those of certs.d/HOST */
        size_t ca_len;
        char *client_cert, *client_key;
        char *user, *pass;
        char *extra_scope; /* another repository's pull scope (cross-repository mount) */
        pthread_mutex_t lock;
        char *authz;      /* "Bearer ..." or "Basic ..." */
};

int reg_client_new(struct reg_client *c, const char *host, const char *repo, const struct reg_opts *o, struct err *err);
void reg_client_free(struct reg_client *c);

struct reg_resp {
        long status;
        char *body;       /* the body when no sink took it */
        size_t len;
        char *content_type;
        char *digest;     /* Docker-Content-Digest */
        char *location;
        uint64_t content_length;
};
void reg_resp_free(struct reg_resp *r);

struct reg_req {
        const char *method;  /* GET HEAD PUT POST */
        const char *path;    /* "/v2/<repo>/manifests/<ref>", or an absolute URL (upload locations) */
        const char *accept;
        const char *content_type;
        const void *body;    /* PUT/POST from memory */
        size_t body_len;
        int body_fd;         /* or from an fd (blobs), -1 */
        uint64_t body_fd_len;
        size_t max;          /* largest body taken into memory */
        struct blob_writer *sink; /* GET of a blob: streamed here (resumed with Range) */
        void (*progress)(void *data, uint64_t now); /* bytes of the sink so far */
        void *progress_data;
        const char *what;    /* for errors: "manifest latest", "blob sha256:..." */
        bool any_host;       /* an absolute URL on another host still gets the credentials (token endpoints) */
};

/* One request with the auth dance (401 -> challenge -> token or basic ->
 * once more), retries with backoff for transport failures (a sink resumes
 * with Range), and errors naming the registry and what was asked. A status
 * >= 400 is returned in resp, not as an error, unless it is 401 after
 * credentials were tried.  On an error resp holds nothing to free. */
int reg_request(struct reg_client *c, const struct reg_req *q, struct reg_resp *resp, struct err *err);
/* "manifest unknown" and the like from a registry's error body, for messages */
char *reg_error_text(const struct reg_resp *r);

/* auth.c */
int reg_creds_lookup(const char *host, const struct reg_opts *o, char **user, char **pass);
char *reg_base64(const void *data, size_t len);
/* parse `Bearer realm="..",service="..",scope=".."` into a NULL-terminated key/value vector */
char **reg_challenge_parse(const char *h, char **scheme);

/* progress.c: one line per layer */
struct reg_progress;
struct reg_progress *reg_progress_new(const struct reg_opts *o, size_t n);
void reg_progress_set(struct reg_progress *p, size_t i, const char *digest, uint64_t total, const char *state);
void reg_progress_bytes(struct reg_progress *p, size_t i, uint64_t now);
void reg_progress_free(struct reg_progress *p);

#define REG_MANIFEST_MAX (4u << 20)
#define REG_ACCEPT_MANIFESTS                                                                       \
        "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "    \
        "application/vnd.docker.distribution.manifest.list.v2+json, "                             \
        "application/vnd.docker.distribution.manifest.v2+json"
