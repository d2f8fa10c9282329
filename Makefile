# The two commands of the README.  meson does the building; this file only
# strings the steps together.
BUILD ?= build
BUILD_ASAN ?= build-asan
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps install demo check check-asan unit integration fuzz fuzz-ci clean

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD)

$(BUILD_ASAN)/build.ninja:
	meson setup $(BUILD_ASAN) -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug

# sudo only when a package is missing (dpkg-query, no root needed to ask)
deps:
	@scripts/install-deps.sh --check 2>/dev/null || { \
		if [ -n "$(SUDO)" ] && ! command -v sudo >/dev/null; then \
			scripts/install-deps.sh --check; echo "make deps: no sudo here: as root, run scripts/install-deps.sh" >&2; exit 1; \
		fi; $(SUDO) scripts/install-deps.sh; }

# den, den-runtime, den-keeper, den-unschroot, autopkgtest-virt-den and the man pages under
# /usr/local (meson setup -Dprefix=... for another), and /usr/local/lib/den/schroot (sbuild's way to den-unschroot, den-unschroot(1))
install: all
	$(SUDO) meson install -C $(BUILD) --no-rebuild

demo: deps all
	BUILD=$(CURDIR)/$(BUILD) scripts/demo.sh

# every test: unit and integration (root, rootless with and without sub-ids), then the same under ASan+UBSan
# (as root it first makes, once per machine, the Debian buildd root of the slow tier: sbuild, autopkgtest)
check: all $(BUILD_ASAN)/build.ninja
	-@[ "$$(id -u)" != 0 ] || scripts/debian-root.sh buildd >/dev/null || echo "no Debian root: the slow tier is skipped"
	meson test -C $(BUILD) --print-errorlogs
	ninja -C $(BUILD_ASAN)
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C $(BUILD_ASAN) --print-errorlogs

unit: all
	meson test -C $(BUILD) --suite unit --print-errorlogs

integration: all
	tests/run-integration.sh $(BUILD)

# libFuzzer targets, one per parser (tests/fuzz/fuzz_NAME.c, seeds in tests/fuzz/corpus-NAME)
FUZZ_TARGETS := spec unpack ref challenge authjson keeper load registry dockerfile ignore
BUILD_FUZZ ?= build-fuzz
FUZZ_TIME ?= 20

$(BUILD_FUZZ)/build.ninja:
	CC=clang meson setup $(BUILD_FUZZ) -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false

# longer local runs: 60 s each
fuzz: $(BUILD_FUZZ)/build.ninja
	ninja -C $(BUILD_FUZZ)
	tests/fuzz/run.sh $(BUILD_FUZZ) 60 $(FUZZ_TARGETS)

# CI: FUZZ_TIME s each; a crash fails, its input stays in $(BUILD_FUZZ)/fuzz-artifacts/NAME/
fuzz-ci: $(BUILD_FUZZ)/build.ninja
	ninja -C $(BUILD_FUZZ)
	tests/fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_TIME) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
