/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base/fs.h"
#include "lib/base/macro.h"
#include "lib/store/digest.h"
#include "lib/store/image.h"
#include "registry.h"

/* the first quoted entry of `unqualified-search-registries = [...]` */
static char *search_registry_in(const char *path)
{
        _cleanup_free_ char *txt = NULL;
        size_t len;
        if (fs_read_file(path, 1u << 20, &txt, &len) < 0)
                return NULL;
        for (char *line = strtok(txt, "\n"); line; line = strtok(NULL, "\n")) {
                while (isspace((unsigned char) *line))
                        line++;
                if (strncmp(line, "unqualified-search-registries", 29) != 0)
                        continue;
                char *q = strchr(line, '"');
                char *e = q ? strchr(q + 1, '"') : NULL;
                if (q && e && e > q + 1)
                        return xasprintf("%.*s", (int) (e - q - 1), q + 1);
                return NULL;
        }
        return NULL;
}

static char *search_registry(void)
{
        const char *x = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        _cleanup_free_ char *user = x && *x ? xasprintf("%s/containers/registries.conf", x)
                                   : home    ? xasprintf("%s/.config/containers/registries.conf", home)
                                             : NULL;
        char *r = user ? search_registry_in(user) : NULL;
        if (!r)
                r = search_registry_in("/etc/containers/registries.conf");
        return r ? r : xstrdup("docker.io");
}

void reg_ref_free(struct reg_ref *r)
{
        free(r->host);
        free(r->repo);
        free(r->tag);
        free(r->digest);
        memset(r, 0, sizeof(*r));
}

int reg_ref_parse(const char *s, struct reg_ref *ret, struct err *err)
{
        memset(ret, 0, sizeof(*ret));
        if (!s || !*s)
                return err_set(err, -EINVAL, "invalid reference '': empty");
        _cleanup_free_ char *copy = xstrdup(s), *full = NULL, *norm = NULL;
        char *at = strchr(copy, '@');
        if (at) {
                *at = '\0';
                if (!digest_valid(at + 1))
                        return err_set(err, -EINVAL, "invalid reference '%s': '%s' is not a sha256 digest", s, at + 1);
        }
        /* a host is a first component with '.' or ':', or localhost */
        const char *slash = strchr(copy, '/');
        size_t fl = slash ? (size_t) (slash - copy) : 0;
        bool has_host = slash && (memchr(copy, '.', fl) || memchr(copy, ':', fl) || (fl == 9 && !memcmp(copy, "localhost", 9)));
        if (has_host)
                full = xstrdup(copy);
        else {
                _cleanup_free_ char *reg = search_registry();
                bool library = strcmp(reg, "docker.io") == 0 && !slash;
                full = xasprintf("%s/%s%s", reg, library ? "library/" : "", copy);
        }
        if (image_ref_normalize(full, &norm, err) < 0)
                return err_wrap(err, "reference '%s'", s);
        /* norm is host/path:tag */
        char *first = strchr(norm, '/'), *colon = strrchr(norm, ':');
        ret->host = xasprintf("%.*s", (int) (first - norm), norm);
        ret->repo = xasprintf("%.*s", (int) (colon - first - 1), first + 1);
        /* a digest alone names no tag; "name:tag@digest" keeps both, the digest decides */
        const char *ls = strrchr(copy, '/');
        bool tag_given = strchr(ls ? ls : copy, ':') != NULL;
        if (!at || tag_given)
                ret->tag = xstrdup(colon + 1);
        if (at)
                ret->digest = xstrdup(at + 1);
        return 0;
}

char *reg_ref_name(const struct reg_ref *r)
{
        if (r->digest && !r->tag)
                return xasprintf("%s/%s@%s", r->host, r->repo, r->digest);
        return xasprintf("%s/%s:%s", r->host, r->repo, r->tag);
}
