/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ADD's two extras: a local tar archive unpacked at the destination, and a
 * file fetched from an http(s) URL. */
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "internal_copy.h"
#include "lib/base/dl.h"
#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/store/layer.h"

#define A(fn) DL(LIBARCHIVE, fn)
#define C(fn) DL(LIBCURL, fn)

/* an ADD of a URL writes at most this much (docker has no limit; a build
 * that fetches more than this wants a RUN with its own tool) */
#define COPY_MAX_URL_BYTES (8ull << 30)

static void ar_free(struct archive *a)
{
        A(archive_read_free)(a);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(struct archive *, ar_free)

/* an archive entry's name as a relative path; NULL when it climbs out */
static char *entry_clean(const char *name)
{
        _cleanup_free_ char *copy = xstrdup(name);
        char *save = NULL;
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save))
                if (strcmp(c, "..") == 0)
                        return NULL;
        /* a leading '/' is dropped, as tar does */
        return path_clean_relative(name);
}

/* the regular files unpacked so far, for hard links to them */
struct ar_file {
        char *path;
        off_t off, size;
};

static int spool_data(struct copy_job *j, struct archive *a, int64_t size, const char *what, const char *name,
                      struct err *err)
{
        char buf[1 << 16];
        int64_t got = 0;
        la_ssize_t n;
        while ((n = A(archive_read_data)(a, buf, sizeof(buf))) > 0) {
                if (got + n > size)
                        return err_set(err, -EINVAL, "ADD failed: archive '%s': entry '%s': data past its size", what,
                                       name);
                int r = copy_spool_write(j, buf, (size_t) n, err);
                if (r < 0)
                        return r;
                got += n;
        }
        if (n < 0)
                return err_set(err, -EINVAL, "ADD failed: archive '%s': entry '%s': %s", what, name,
                               A(archive_error_string)(a));
        /* a short entry is padded: the header's size stays true */
        static const char zeros[4096];
        while (got < size) {
                size_t k = size - got > (int64_t) sizeof(zeros) ? sizeof(zeros) : (size_t) (size - got);
                int r = copy_spool_write(j, zeros, k, err);
                if (r < 0)
                        return r;
                got += (int64_t) k;
        }
        return 0;
}

static int unpack_entry(struct copy_job *j, struct archive *a, struct archive_entry *e, const char *ddir,
                        const char *what, struct ar_file **files, size_t *n_files, struct err *err)
{
        const char *full = A(archive_entry_pathname)(e);
        if (!full)
                return err_set(err, -EINVAL, "ADD failed: archive '%s': an entry without a name", what);
        _cleanup_free_ char *clean = entry_clean(full);
        if (!clean)
                return err_set(err, -EINVAL, "ADD failed: archive '%s': entry '%s' escapes the destination ('..')",
                               what, full);
        const char *slash = strrchr(clean, '/'), *base = slash ? slash + 1 : clean;
        /* the root itself; whiteouts would hide files of the image below */
        if (!*clean || strncmp(base, ".wh.", 4) == 0)
                return 0;
        _cleanup_free_ char *prel = slash ? strndup(clean, (size_t) (slash - clean)) : xstrdup("");
        _cleanup_free_ char *pdest = *ddir ? (*prel ? xasprintf("%s/%s", ddir, prel) : xstrdup(ddir)) : xstrdup(prel);
        _cleanup_free_ char *parent = copy_dest_real(j, pdest, true, err);
        _cleanup_free_ char *lname = *parent ? xasprintf("%s/%s", parent, base) : xstrdup(base);
        mode_t type = A(archive_entry_filetype)(e), perm = A(archive_entry_perm)(e) & 07777;
        la_int64_t uid = A(archive_entry_uid)(e), gid = A(archive_entry_gid)(e);
        const char *hl = A(archive_entry_hardlink)(e);
        if (hl) {
                /* a hard link becomes a copy: entries are written sorted, the
                 * target may come after its link */
                _cleanup_free_ char *target = entry_clean(hl);
                for (size_t i = *n_files; target && i-- > 0;)
                        if (strcmp((*files)[i].path, target) == 0) {
                                struct centry *ce = copy_push(j, lname, S_IFREG | perm, A(archive_entry_mtime)(e));
                                ce->data = DATA_SPOOL;
                                ce->off = (*files)[i].off;
                                ce->st.st_size = (*files)[i].size;
                                goto ids;
                        }
                return err_set(err, -EINVAL, "ADD failed: archive '%s': entry '%s' is a hard link to '%s', not before it",
                               what, full, hl);
        }
        if (type == AE_IFDIR) {
                _cleanup_free_ char *real = copy_dest_real(j, lname, true, err);
                if (!*real)
                        return 0;
                copy_push(j, real, S_IFDIR | perm, A(archive_entry_mtime)(e));
        } else if (type == AE_IFREG) {
                la_int64_t size = A(archive_entry_size)(e);
                if (size < 0)
                        return err_set(err, -EINVAL, "ADD failed: archive '%s': entry '%s' has a negative size", what, full);
                off_t off = j->spool_len;
                int r = spool_data(j, a, size, what, full, err);
                if (r < 0)
                        return r;
                struct centry *ce = copy_push(j, lname, S_IFREG | perm, A(archive_entry_mtime)(e));
                ce->data = DATA_SPOOL;
                ce->off = off;
                ce->st.st_size = size;
                *files = xrealloc(*files, (*n_files + 1) * sizeof(**files));
                (*files)[(*n_files)++] = (struct ar_file){ xstrdup(clean), off, size };
        } else if (type == AE_IFLNK) {
                const char *t = A(archive_entry_symlink)(e);
                struct centry *ce = copy_push(j, lname, S_IFLNK | 0777, A(archive_entry_mtime)(e));
                ce->link = xstrdup(t ? t : "");
        } else if (type == AE_IFIFO)
                copy_push(j, lname, S_IFIFO | perm, A(archive_entry_mtime)(e));
        else
                return 0; /* devices: not made by a build */
ids:
        /* the archive's owners, unless --chown says otherwise */
        if (j->c->uid == (uid_t) -1 && j->c->gid == (gid_t) -1) {
                if (uid < 0 || uid >= UINT32_MAX || gid < 0 || gid >= UINT32_MAX)
                        return err_set(err, -EINVAL, "ADD failed: archive '%s': entry '%s' has an invalid owner", what, full);
                j->e[j->n - 1].st.st_uid = (uid_t) uid;
                j->e[j->n - 1].st.st_gid = (gid_t) gid;
        }
        return 0;
}

int copy_archive_maybe(struct copy_job *j, int fd, const char *what, const char *dest, struct err *err)
{
        if (!dl_available(LIBARCHIVE))
                return err_set(err, -ENOSYS, "%s is not installed (package libarchive13)", LIBARCHIVE);
        /* by content, as docker does: any compression libarchive knows, a tar inside */
        _cleanup_(ar_freep) struct archive *a = A(archive_read_new)();
        struct archive_entry *e;
        A(archive_read_support_filter_all)(a);
        A(archive_read_support_format_tar)(a);
        A(archive_read_support_format_gnutar)(a);
        int ar = A(archive_read_open_fd)(a, fd, 1 << 16) == ARCHIVE_OK ? A(archive_read_next_header)(a, &e) : ARCHIVE_FATAL;
        if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
                return 0;
        _cleanup_free_ char *ddir = copy_dest_real(j, dest, true, err);
        struct ar_file *files = NULL;
        size_t n_files = 0, count = 0;
        int r = 0;
        for (; ar == ARCHIVE_OK || ar == ARCHIVE_WARN; ar = A(archive_read_next_header)(a, &e)) {
                if (++count > LAYER_MAX_ENTRIES) {
                        r = err_set(err, -EFBIG, "ADD failed: archive '%s' has more than %d entries", what,
                                    LAYER_MAX_ENTRIES);
                        break;
                }
                if ((r = unpack_entry(j, a, e, ddir, what, &files, &n_files, err)) < 0)
                        break;
        }
        if (r == 0 && ar != ARCHIVE_EOF)
                r = err_set(err, -EINVAL, "ADD failed: archive '%s': %s", what,
                            A(archive_error_string)(a) ? A(archive_error_string)(a) : "truncated");
        for (size_t i = 0; i < n_files; i++)
                free(files[i].path);
        free(files);
        return r < 0 ? r : 1;
}

/* ---- ADD https://... ---- */

struct fetch {
        struct copy_job *j;
        uint64_t total;
        struct err werr;
};

static size_t on_body(char *p, size_t size, size_t n, void *data)
{
        struct fetch *f = data;
        size_t len = size * n;
        if (f->total + len > COPY_MAX_URL_BYTES) {
                err_set(&f->werr, -EFBIG, "larger than %llu bytes", (unsigned long long) COPY_MAX_URL_BYTES);
                return 0;
        }
        if (copy_spool_write(f->j, p, len, &f->werr) < 0)
                return 0;
        f->total += len;
        return len;
}

static void curl_init(void)
{
        C(curl_global_init)(CURL_GLOBAL_ALL);
}

/* the last segment of the URL's path, without query and fragment; "" when none */
static char *url_name(const char *url)
{
        const char *p = strstr(url, "://");
        p = p ? p + 3 : url;
        p += strcspn(p, "/?#");
        size_t l = strcspn(p, "?#");
        _cleanup_free_ char *path = strndup(p, l);
        const char *s = strrchr(path, '/');
        return xstrdup(s ? s + 1 : path);
}

int copy_url(struct copy_job *j, const char *url, const char *dest, bool dest_dir, struct err *err)
{
        if (!j->c->network)
                return err_set(err, -ENETUNREACH, "ADD failed: '%s': fetching a URL needs the network, and this build has none",
                               url);
        if (!dl_available(LIBCURL))
                return err_set(err, -ENOSYS, "%s is not installed (package libcurl4)", LIBCURL);
        _cleanup_free_ char *name = url_name(url);
        if (dest_dir && (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0))
                return err_set(err, -EINVAL, "ADD failed: cannot determine a file name from the URL '%s'", url);
        static pthread_once_t once = PTHREAD_ONCE_INIT;
        pthread_once(&once, curl_init);
        int r = copy_spool_fd(j, err);
        if (r < 0)
                return r;
        off_t off = j->spool_len;
        struct fetch f = { .j = j };
        char ebuf[CURL_ERROR_SIZE] = "";
        CURL *h = C(curl_easy_init)();
        if (!h)
                return err_set(err, -ENOMEM, "ADD failed: '%s': cannot start a transfer", url);
        C(curl_easy_setopt)(h, CURLOPT_URL, url);
        C(curl_easy_setopt)(h, CURLOPT_USERAGENT, "den/" DEN_VERSION);
        C(curl_easy_setopt)(h, CURLOPT_NOSIGNAL, 1L);
        C(curl_easy_setopt)(h, CURLOPT_PROTOCOLS_STR, "http,https");
        C(curl_easy_setopt)(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        C(curl_easy_setopt)(h, CURLOPT_FOLLOWLOCATION, 1L);
        C(curl_easy_setopt)(h, CURLOPT_MAXREDIRS, 10L);
        C(curl_easy_setopt)(h, CURLOPT_CONNECTTIMEOUT, 30L);
        C(curl_easy_setopt)(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        C(curl_easy_setopt)(h, CURLOPT_LOW_SPEED_TIME, 60L);
        C(curl_easy_setopt)(h, CURLOPT_FILETIME, 1L);
        C(curl_easy_setopt)(h, CURLOPT_WRITEFUNCTION, on_body);
        C(curl_easy_setopt)(h, CURLOPT_WRITEDATA, &f);
        C(curl_easy_setopt)(h, CURLOPT_ERRORBUFFER, ebuf);
        CURLcode rc = C(curl_easy_perform)(h);
        long status = 0;
        curl_off_t ftime = -1;
        C(curl_easy_getinfo)(h, CURLINFO_RESPONSE_CODE, &status);
        C(curl_easy_getinfo)(h, CURLINFO_FILETIME_T, &ftime);
        C(curl_easy_cleanup)(h);
        if (f.werr.code)
                return err_set(err, f.werr.code, "ADD failed: '%s': %s", url, f.werr.msg);
        if (rc != CURLE_OK)
                return err_set(err, -EIO, "ADD failed: '%s': %s", url, *ebuf ? ebuf : C(curl_easy_strerror)(rc));
        if (status >= 400)
                return err_set(err, -EIO, "ADD failed: '%s': HTTP %ld", url, status);
        _cleanup_free_ char *target = dest_dir ? (*dest ? xasprintf("%s/%s", dest, name) : xstrdup(name)) : xstrdup(dest);
        _cleanup_free_ char *real = copy_dest_real(j, target, false, err);
        /* docker writes a download 0600, dated by its Last-Modified */
        struct centry *ce = copy_push(j, real, S_IFREG | (j->c->chmod >= 0 ? (mode_t) j->c->chmod & 07777 : 0600),
                                      ftime >= 0 ? (time_t) ftime : j->now);
        ce->data = DATA_SPOOL;
        ce->off = off;
        ce->st.st_size = (off_t) f.total;
        return 0;
}
