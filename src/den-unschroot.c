/* SPDX-License-Identifier: GPL-2.0-or-later */
/* den-unschroot: schroot's command line over den sessions, so that sbuild's
 * schroot mode (and anything else that drives schroot) builds in den
 * containers, unprivileged.  The name keeps "unschroot": newer sbuild asks a
 * schroot program so named to isolate the network of the build.
 *
 * Chroots are images named sbuild/NAME (den import TARBALL sbuild/NAME):
 * image localhost/sbuild/bookworm-amd64:latest is chroot bookworm-amd64-sbuild
 * (and source:bookworm-amd64-sbuild).  Sessions are den sessions. */
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/macro.h"
#include "lib/linux/idmap.h"
#include "lib/runtime/engine.h"
#include "lib/store/image.h"
#include "lib/store/store.h"

extern char **environ;

static const char *prefix = "localhost/sbuild/", *suffix = "-sbuild";

struct opts {
        char *root, *runroot;
        char **chroots;
        const char *dir, *user, *session_name;
        bool list, info, location, all, all_chroots, all_sessions, all_source, begin, run, end, preserve, quiet,
                isolate;
        char **cmd;
};

static int __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "E: ");
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, "\n");
        va_end(ap);
        return 1;
}

/* image names -> chroot names */
static char **chroot_names(struct opts *o)
{
        struct store s;
        struct err err = { 0 };
        char **out = NULL;
        json_t *names = NULL;
        if (store_open(o->root, &s, &err) < 0)
                return NULL;
        if (image_names_load(&s, &names, &err) == 0) {
                const char *k;
                json_t *v;
                size_t pl = strlen(prefix);
                json_object_foreach(names, k, v)
                {
                        const char *colon = strrchr(k, ':');
                        if (strncmp(k, prefix, pl) != 0 || !colon || strcmp(colon, ":latest") != 0)
                                continue;
                        _cleanup_free_ char *n = xasprintf("%.*s%s", (int) (colon - k - pl), k + pl, suffix);
                        strv_push(&out, n);
                }
                json_decref(names);
        }
        store_close(&s);
        return out;
}

/* the open sessions: {Name, Id, Image, ...} */
static json_t *sessions(struct opts *o)
{
        struct err err = { 0 };
        json_t *arr = NULL, *out = json_array(), *e;
        size_t i;
        if (engine_list(o->root, o->runroot, &arr, &err) < 0) {
                /* an unusable run directory is said, not shown as no sessions */
                fail("%s", err.msg);
                return out;
        }
        json_array_foreach(arr, i, e) if (json_is_true(json_object_get(e, "Session")) &&
                                          strcmp(json_string_value(json_object_get(e, "Status")), "running") == 0)
                json_array_append(out, e);
        json_decref(arr);
        return out;
}

static json_t *session_find(json_t *ss, const char *name)
{
        size_t i;
        json_t *e;
        json_array_foreach(ss, i, e) if (strcmp(json_string_value(json_object_get(e, "Name")), name) == 0) return e;
        return NULL;
}

/* "chroot:X", "source:X", "session:X" or a bare name */
static const char *strip_ns(const char *c, const char **ns)
{
        const char *colon = strchr(c, ':');
        *ns = NULL;
        if (colon && (strncmp(c, "chroot:", 7) == 0 || strncmp(c, "source:", 7) == 0 || strncmp(c, "session:", 8) == 0)) {
                *ns = c;
                return colon + 1;
        }
        return c;
}

static char *image_of(const char *chroot)
{
        size_t l = strlen(chroot), sl = strlen(suffix);
        if (l <= sl || strcmp(chroot + l - sl, suffix) != 0)
                return NULL;
        return xasprintf("sbuild/%.*s", (int) (l - sl), chroot);
}

static bool chroot_exists(struct opts *o, const char *name)
{
        _cleanup_strv_free_ char **all = chroot_names(o);
        for (char **c = all; c && *c; c++)
                if (strcmp(*c, name) == 0)
                        return true;
        return false;
}

static char *session_location(struct opts *o, json_t *e)
{
        /* a directory of the host that stands for the session (sbuild checks it is one and
         * filters it from logs); the root itself is mounted only inside the container.  The
         * run directory is the one den's verbs use, checked the same way */
        const char *id = json_string_value(json_object_get(e, "Id"));
        _cleanup_free_ char *rr = NULL;
        struct err err = { 0 };
        if (engine_runroot(o->runroot, &rr, &err) < 0) {
                fail("%s", err.msg);
                return xstrdup("?");
        }
        return xasprintf("%s/containers/%s/rootfs", rr, id);
}

static void print_chroot(const char *name, bool source)
{
        printf("  --- %s ---\n", source ? "Source" : "Chroot");
        printf("  Name                   %s\n", name);
        printf("  Description            den image sbuild/%.*s\n", (int) (strlen(name) - strlen(suffix)), name);
        printf("  Type                   den\n");
        printf("  Aliases                \n");
        printf("  Priority               0\n");
        printf("  Session Cloned         true\n");
        printf("  Session Purged         true\n");
        printf("  Source Clone           %s\n", source ? "false" : "true");
        printf("\n");
}

static void print_session(struct opts *o, json_t *e)
{
        _cleanup_free_ char *loc = session_location(o, e);
        const char *image = json_string_value(json_object_get(e, "Image"));
        printf("  --- Session ---\n");
        printf("  Name                   %s\n", json_string_value(json_object_get(e, "Name")));
        printf("  Description            den session of %s\n", image ? image : "?");
        printf("  Type                   den\n");
        printf("  Aliases                \n");
        printf("  Priority               0\n");
        printf("  Session Purged         true\n");
        printf("  Location               %s\n", loc);
        printf("  Path                   %s\n", loc);
        printf("\n");
}

static int do_list(struct opts *o)
{
        bool chroots = o->all || o->all_chroots || (!o->all_sessions && !o->all_source);
        _cleanup_strv_free_ char **names = chroot_names(o);
        if (chroots)
                for (char **c = names; c && *c; c++)
                        printf("chroot:%s\n", *c);
        /* as schroot -l: every chroot also under its source: name */
        if (o->all || o->all_source || chroots)
                for (char **c = names; c && *c; c++)
                        printf("source:%s\n", *c);
        if (o->all || o->all_sessions) {
                json_t *ss = sessions(o), *e;
                size_t i;
                json_array_foreach(ss, i, e) printf("session:%s\n", json_string_value(json_object_get(e, "Name")));
                json_decref(ss);
        }
        return 0;
}

static int do_info(struct opts *o)
{
        json_t *ss = sessions(o);
        int rc = 0;
        if (!o->chroots) {
                _cleanup_strv_free_ char **names = chroot_names(o);
                for (char **c = names; c && *c; c++)
                        print_chroot(*c, false);
                for (char **c = names; c && *c; c++)
                        print_chroot(*c, true);
                size_t i;
                json_t *e;
                json_array_foreach(ss, i, e) print_session(o, e);
        }
        for (char **c = o->chroots; c && *c; c++) {
                const char *ns, *name = strip_ns(*c, &ns);
                json_t *e = (!ns || ns[1] == 'e') ? session_find(ss, name) : NULL;
                if (e) {
                        if (o->location) {
                                _cleanup_free_ char *loc = session_location(o, e);
                                printf("%s\n", loc);
                        } else
                                print_session(o, e);
                } else if ((!ns || ns[1] != 'e') && chroot_exists(o, name)) {
                        if (!o->location)
                                print_chroot(name, ns && ns[0] == 's' && ns[1] == 'o');
                } else
                        rc = fail("%s: Chroot not found", *c);
        }
        json_decref(ss);
        return rc;
}

static int end(struct opts *o, const char *session);

static int begin(struct opts *o, const char *chroot, bool quiet, char **ret_name)
{
        const char *ns, *name = strip_ns(chroot, &ns);
        _cleanup_free_ char *image = image_of(name);
        if (!image || !chroot_exists(o, name))
                return fail("%s: Chroot not found (den images named sbuild/NAME are chroots NAME-sbuild)", chroot);
        char rnd[9];
        FILE *u = fopen("/dev/urandom", "re");
        unsigned v = 0;
        if (!u || fread(&v, sizeof(v), 1, u) != 1)
                v = (unsigned) getpid();
        if (u)
                fclose(u);
        snprintf(rnd, sizeof(rnd), "%08x", v);
        /* a session of source:NAME writes its changes back into the image when it ends: its name says so */
        bool source = ns && strncmp(ns, "source:", 7) == 0;
        _cleanup_free_ char *sname = o->session_name ? xasprintf("%s%s", source ? "source-" : "", o->session_name)
                                                     : xasprintf("%s%s-%s", source ? "source-" : "", name, rnd);
        struct engine_run_opts ro = { .root = o->root, .runroot = o->runroot, .image = image, .name = sname,
                                      .network = "host", .quiet = true };
        struct err err = { 0 };
        if (engine_session_begin(&ro, &err) < 0)
                return fail("%s: %s", chroot, err.msg);
        /* schroot copies the caller's passwd and group entries in; sbuild also wants a group
         * sbuild holding the caller.  Here the caller keeps its ids (inside the sub-id range). */
        struct passwd *pw = getpwuid(getuid());
        struct spec_idmap m[2];
        /* without sub-ids only root exists inside: the caller's name is another name of it */
        bool subids = idmap_default(false, m) > 1 && idmap_default(true, m) > 1;
        if (!subids && getuid() != 0 && !o->quiet)
                fprintf(stderr, "W: %s has no sub-ids (/etc/subuid, /etc/subgid): only root exists in the session, so "
                                "installing packages whose files belong to other users fails\n",
                        pw ? pw->pw_name : "this user");
        if (pw && getuid() != 0) {
                _cleanup_free_ char *script = xasprintf(
                        "grep -q '^%1$s:' /etc/passwd || echo '%1$s:x:%2$u:%3$u::/home/%1$s:/bin/sh' >> /etc/passwd; "
                        "grep -q '^%1$s:' /etc/group || echo '%1$s:x:%3$u:' >> /etc/group; "
                        "grep -q '^sbuild:' /etc/group || echo 'sbuild:x:%4$u:%1$s' >> /etc/group; "
                        "%5$s"
                        "mkdir -p /home/%1$s && chown %2$u:%3$u /home/%1$s 2>/dev/null; true",
                        pw->pw_name, subids ? (unsigned) pw->pw_uid : 0u, subids ? (unsigned) pw->pw_gid : 0u,
                        subids ? 998u : 0u,
                        /* only root exists: sbuild's own user must be another name of it too */
                        subids ? "" : "grep -q '^sbuild:' /etc/passwd || echo 'sbuild:x:0:0:Debian source builder:/var/lib/sbuild:/bin/bash' >> /etc/passwd; "
                                      /* and apt cannot drop to _apt */
                                      "[ ! -d /etc/apt/apt.conf.d ] || echo 'APT::Sandbox::User \"root\";' > /etc/apt/apt.conf.d/00den-single-id; ");
                char *cmd[] = { "/bin/sh", "-c", script, NULL };
                struct engine_exec_opts eo = { .root = o->root, .runroot = o->runroot, .container = sname, .cmd = cmd,
                                               .user = "0" };
                int out = dup(1), nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
                dup2(nul, 1);
                int r = engine_exec(&eo, &err);
                dup2(out, 1);
                close(out);
                close(nul);
                if (r != 0) {
                        end(o, sname);
                        return fail("%s: cannot add user %s to the session: %s", chroot, pw->pw_name,
                                    r < 0 ? err.msg : "the command failed");
                }
        }
        if (!quiet) {
                printf("%s\n", sname);
                fflush(stdout);
        }
        if (ret_name)
                *ret_name = xstrdup(sname);
        return 0;
}

static int end(struct opts *o, const char *session)
{
        const char *ns, *name = strip_ns(session, &ns);
        struct err err = { 0 };
        if (strncmp(name, "source-", 7) == 0) {
                json_t *ss = sessions(o), *e = session_find(ss, name);
                const char *image = json_string_value(json_object_get(e, "Image"));
                char man[72];
                int r = image ? engine_commit(o->root, name, image, man, &err) : 0;
                json_decref(ss);
                if (r < 0)
                        return fail("%s: the changes cannot be kept in the image (the session stays): %s", session, err.msg);
        }
        if (engine_rm(o->root, o->runroot, name, true, &err) < 0)
                return fail("%s: %s", session, err.msg);
        return 0;
}

/* the network off for the build: asked (--isolate-network), or a program named in
 * $DEN_UNSCHROOT_ISOLATE (default dpkg-buildpackage: Debian 12's sbuild cannot ask).
 * The program only: `sh -c '...' dpkg-buildpackage` names it as $0, and keeps the network */
static bool isolate(struct opts *o)
{
        if (o->isolate)
                return true;
        if (!o->cmd || !o->cmd[0])
                return false;
        const char *e = getenv("DEN_UNSCHROOT_ISOLATE");
        _cleanup_free_ char *list = xstrdup(e ? e : "dpkg-buildpackage");
        const char *base = strrchr(o->cmd[0], '/') ? strrchr(o->cmd[0], '/') + 1 : o->cmd[0];
        for (char *w = strtok(list, " ,:"); w; w = strtok(NULL, " ,:"))
                if (strcmp(base, w) == 0)
                        return true;
        return false;
}

/* the PATH a session command gets: the caller's, without the directory that holds this
 * program as `schroot` (sbuild found us there: PREFIX/lib/den), and with the standard
 * directories it lacks (a user's PATH has no sbin: apt and dpkg run ldconfig from there) */
static char *session_path(const char *given)
{
        static const char *const std[] = { "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin" };
        struct stat self, st;
        bool have_self = stat("/proc/self/exe", &self) == 0;
        _cleanup_free_ char *in = xstrdup(given ? given : "");
        char *out = xstrdup("");
        for (char *w = strtok(in, ":"); w; w = strtok(NULL, ":")) {
                _cleanup_free_ char *p = xasprintf("%s/schroot", w);
                if (have_self && stat(p, &st) == 0 && st.st_dev == self.st_dev && st.st_ino == self.st_ino)
                        continue;
                char *n = xasprintf("%s%s%s", out, *out ? ":" : "", w);
                free(out);
                out = n;
        }
        for (size_t i = 0; i < ELEMENTSOF(std); i++) {
                _cleanup_free_ char *padded = xasprintf(":%s:", out), *want = xasprintf(":%s:", std[i]);
                if (strstr(padded, want))
                        continue;
                char *n = xasprintf("%s%s%s", out, *out ? ":" : "", std[i]);
                free(out);
                out = n;
        }
        return out;
}

static int run(struct opts *o, const char *session)
{
        const char *ns, *name = strip_ns(session, &ns);
        struct engine_exec_opts eo = { .root = o->root, .runroot = o->runroot, .container = name, .cmd = o->cmd,
                                       .workdir = o->dir, .user = o->user, .interactive = true,
                                       .tty = isatty(0) && isatty(1) };
        _cleanup_strv_free_ char **env = NULL;
        char *sh[] = { "/bin/sh", "-l", NULL };
        if (!o->cmd || !o->cmd[0])
                eo.cmd = sh;
        if (o->preserve) {
                for (char **e = environ; e && *e; e++)
                        if (strncmp(*e, "DEN_", 4) != 0 && strncmp(*e, "PATH=", 5) != 0) /* den's own settings stay outside */
                                strv_push(&env, *e);
                _cleanup_free_ char *path = session_path(getenv("PATH"));
                _cleanup_free_ char *kv = xasprintf("PATH=%s", path);
                strv_push(&env, kv);
        }
        eo.env = env;
        if (isolate(o))
                eo.network = "none";
        struct err err = { 0 };
        int r = engine_exec(&eo, &err);
        if (r < 0)
                return fail("%s: %s", session, err.msg);
        return r;
}

/* den's store and run directory.  Before every --run-session sbuild filters the
 * environment and sets HOME=/sbuild-nonexistent, while --begin-session and
 * --end-session see the caller's: so, unless DEN_ROOT and DEN_RUNROOT say, the
 * defaults come from what stays the same, the caller's passwd entry and uid:
 * the store in the home directory of the passwd entry when $HOME is not a
 * directory, the run directory in /run/user/UID when $XDG_RUNTIME_DIR is unset
 * and that directory is the caller's (as a login session sets it) */
static void locations(struct opts *o)
{
        const char *home = getenv("HOME"), *xdg = getenv("XDG_DATA_HOME"), *rr = getenv("DEN_RUNROOT");
        const char *e = getenv("DEN_ROOT"), *xrt = getenv("XDG_RUNTIME_DIR");
        struct stat st;
        struct passwd *pw = getpwuid(getuid());
        o->runroot = rr && *rr ? xstrdup(rr) : NULL;
        if (geteuid() == 0 || (e && *e) || (xdg && *xdg) || (home && *home && stat(home, &st) == 0 && S_ISDIR(st.st_mode)) ||
            !pw)
                o->root = engine_default_root();
        else
                o->root = xasprintf("%s/.local/share/den", pw->pw_dir);
        if (!o->runroot && geteuid() != 0 && !(xrt && *xrt)) {
                _cleanup_free_ char *run = xasprintf("/run/user/%u", (unsigned) geteuid());
                if (stat(run, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid())
                        o->runroot = xasprintf("%s/den", run);
        }
}

static void usage(FILE *f)
{
        fprintf(f, "usage: den-unschroot [OPTION...] [--] [COMMAND]\n\n"
                   "schroot's command line over den sessions (for sbuild's schroot mode).\n\n"
                   "  -l, --list [--all|--all-chroots|--all-sessions|--all-source-chroots]\n"
                   "  -i, --info [-c CHROOT]...      --location -c session:ID\n"
                   "  -b, --begin-session -c CHROOT [-n NAME]   prints the session id\n"
                   "  -r, --run-session -c ID [-d DIR] [-u USER] [-p] [--isolate-network] -- COMMAND...\n"
                   "  -e, --end-session -c ID\n"
                   "  -c CHROOT [-u USER] [-d DIR] -- COMMAND...   (a session for one command)\n\n"
                   "Chroot NAME-sbuild is the den image sbuild/NAME (den import TARBALL sbuild/NAME).\n"
                   "The network of a command is the host's, or none with --isolate-network or when its\n"
                   "program (not an argument) is one of $DEN_UNSCHROOT_ISOLATE (default: dpkg-buildpackage).\n"
                   "The store and run state are den's ($DEN_ROOT, $DEN_RUNROOT; without them den's defaults,\n"
                   "found from the caller's passwd entry and uid when sbuild has set HOME=/sbuild-nonexistent).\n");
}

int main(int argc, char **argv)
{
        enum { O_ALL = 300, O_ALLC, O_ALLS, O_ALLSRC, O_ISOLATE, O_LOCATION, O_CONFIG, O_AUTO };
        static const struct option lo[] = {
                { "chroot", required_argument, NULL, 'c' },        { "list", no_argument, NULL, 'l' },
                { "info", no_argument, NULL, 'i' },                { "config", no_argument, NULL, O_CONFIG },
                { "location", no_argument, NULL, O_LOCATION },     { "all", no_argument, NULL, 'a' },
                { "all-chroots", no_argument, NULL, O_ALLC },      { "all-sessions", no_argument, NULL, O_ALLS },
                { "all-source-chroots", no_argument, NULL, O_ALLSRC },
                { "begin-session", no_argument, NULL, 'b' },       { "run-session", no_argument, NULL, 'r' },
                { "end-session", no_argument, NULL, 'e' },         { "session-name", required_argument, NULL, 'n' },
                { "automatic-session", no_argument, NULL, O_AUTO }, { "directory", required_argument, NULL, 'd' },
                { "user", required_argument, NULL, 'u' },          { "preserve-environment", no_argument, NULL, 'p' },
                { "quiet", no_argument, NULL, 'q' },               { "verbose", no_argument, NULL, 'v' },
                { "isolate-network", no_argument, NULL, O_ISOLATE }, { "option", required_argument, NULL, 'o' },
                { "version", no_argument, NULL, 'V' },             { "help", no_argument, NULL, 'h' },
                {},
        };
        struct opts o = { 0 };
        int c;
        while ((c = getopt_long(argc, argv, "+c:liabren:d:u:pqvo:Vh", lo, NULL)) != -1) {
                switch (c) {
                case 'c': strv_push(&o.chroots, optarg); break;
                case 'l': o.list = true; break;
                case 'i': o.info = true; break;
                case O_LOCATION: o.info = o.location = true; break;
                case 'a': o.all = true; break;
                case O_ALLC: o.all_chroots = true; break;
                case O_ALLS: o.all_sessions = true; break;
                case O_ALLSRC: o.all_source = true; break;
                case 'b': o.begin = true; break;
                case 'r': o.run = true; break;
                case 'e': o.end = true; break;
                case 'n': o.session_name = optarg; break;
                case 'd': o.dir = optarg; break;
                case 'u': o.user = optarg; break;
                case 'p': o.preserve = true; break;
                case 'q': o.quiet = true; break;
                case O_ISOLATE: o.isolate = true; break;
                case 'v': case 'o': case O_AUTO: break;
                case O_CONFIG:
                        fprintf(stderr, "E: --config: den-unschroot chroots have no schroot configuration\n");
                        return 1;
                case 'V': printf("den-unschroot (den) %s\n", DEN_VERSION); return 0;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 1;
                }
        }
        o.cmd = argv + optind;
        locations(&o);
        int rc;
        if (o.list)
                rc = do_list(&o);
        else if (o.info)
                rc = do_info(&o);
        else if (!o.chroots || o.chroots[1])
                rc = fail("give one chroot or session with -c");
        else if (o.begin) {
                rc = begin(&o, o.chroots[0], false, NULL);
        } else if (o.end)
                rc = end(&o, o.chroots[0]);
        else if (o.run)
                rc = run(&o, o.chroots[0]);
        else {
                /* an automatic session: begun, used once, ended */
                _cleanup_free_ char *name = NULL;
                if ((rc = begin(&o, o.chroots[0], true, &name)) == 0) {
                        rc = run(&o, name);
                        end(&o, name);
                }
        }
        fflush(stdout);
        strv_freep(&o.chroots);
        free(o.root);
        free(o.runroot);
        return rc;
}
