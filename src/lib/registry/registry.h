/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/base/err.h"
#include "lib/base/json.h"
#include "lib/store/store.h"

/* The OCI distribution API (what `docker pull` and `skopeo` speak), over
 * libcurl, opened on first use like libarchive.
 *
 * References follow docker's grammar: [HOST[:PORT]/]PATH[:TAG][@sha256:HEX].
 * The first component is a registry host when it holds a '.' or a ':' or is
 * "localhost".  Short names (no host) are resolved by one documented rule:
 * the first entry of `unqualified-search-registries` in
 * $XDG_CONFIG_HOME/containers/registries.conf, else /etc/containers/
 * registries.conf (the file podman reads), else docker.io; on docker.io a
 * one-component name gets "library/".  A missing tag is "latest". */
struct reg_ref {
        char *host;   /* "127.0.0.1:5000", "docker.io" */
        char *repo;   /* "library/debian" */
        char *tag;    /* NULL with a digest alone */
        char *digest; /* NULL or "sha256:..." */
};
int reg_ref_parse(const char *s, struct reg_ref *ret, struct err *err);
void reg_ref_free(struct reg_ref *r);
/* "host/repo:tag" or "host/repo@digest": the name an image gets in the store */
char *reg_ref_name(const struct reg_ref *r);

struct reg_opts {
        int tls_verify;          /* 1 (default), 0: accept any certificate and fall back to http, -1: unset */
        const char *cert_dir;    /* CA/client certificates instead of certs.d/HOST */
        const char *authfile;    /* instead of the default search */
        const char *creds;       /* "USER:PASSWORD" given on the command line */
        long timeout;            /* seconds: connect, and longest stall of a transfer (default 30) */
        int retries;             /* per request, with backoff (default 3) */
        int parallel;            /* layers at once (default 3) */
        const char *platform;    /* "os/arch[/variant]" (default: this machine's) */
        bool quiet;              /* no progress */
        int progress_fd;         /* where progress goes (default 2); a tty gets the live display */
        /* set: each layer's progress goes to progress_fn instead (even when quiet; den serve's
         * JSON lines): i the layer's index, hex the digest's first hex digits, now/total bytes,
         * state as den pull prints it (waiting, downloading, exists, done, pushed...) */
        void (*progress_fn)(void *data, size_t i, const char *hex, uint64_t now, uint64_t total, const char *state);
        void *progress_data;
};
void reg_opts_init(struct reg_opts *o);

/* den pull: manifest (index -> this platform), config and missing layers into
 * the store, layers unpacked as they complete; names the image; the manifest
 * digest in ret. */
int registry_pull(struct store *s, const char *ref, const struct reg_opts *o, char ret[72], struct err *err);
/* the same into the store at root, with the default options (a build's FROM of a missing image) */
int registry_pull_root(const char *root, const char *ref, struct err *err);
/* den push: the blobs the registry lacks (HEAD, cross-repository mount when
 * the blob came from another repository of the same registry), then the manifest. */
int registry_push(struct store *s, const char *image, const char *dest, const struct reg_opts *o, char ret[72],
                  struct err *err);
/* den inspect --remote: what skopeo inspect prints, without pulling; raw: the manifest as served */
int registry_inspect(const char *ref, const struct reg_opts *o, bool raw, json_t **ret, struct err *err);

/* den login / logout: credentials in auth.json (podman's, skopeo's, buildah's) */
int registry_login(const char *host, const char *user, const char *password, const struct reg_opts *o, struct err *err);
int registry_logout(const char *host, bool all, const struct reg_opts *o, struct err *err);
/* the auth.json den writes: --authfile, $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
 * else ~/.config/containers/auth.json */
char *registry_authfile(const struct reg_opts *o);
/* this machine as an OCI platform: "os/arch[/variant]" (linux/amd64, linux/arm/v7...) */
void registry_host_platform(char *out, size_t len);
