/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>

#include "lib/base/json.h"

/* The event log of a store, docker's events: <root>/events, one JSON line per
 * event {Type, Action, Actor:{ID, Attributes}, scope, time, timeNano}, each
 * appended by one write (O_APPEND: lines of concurrent writers never mix);
 * past EVENTS_MAX bytes the file becomes events.1 (the one before is dropped). */
#define EVENTS_MAX (1u << 20)

/* one event; attrs (stolen, NULL: none) are its Actor.Attributes; time_ns 0: now.
 * Never fails the caller: an event that cannot be written is lost. */
void events_log(const char *root, const char *type, const char *action, const char *id, json_t *attrs,
                long long time_ns);
/* a container's event, its name and image from its record; extra attributes (stolen, or NULL) */
void events_ctr(const char *root, const char *id, const char *action, json_t *extra);
/* an image's event: id (its config digest, or a name for pull and push), name */
void events_img(const char *root, const char *action, const char *id, const char *name);
/* the die of a container's last run, once: when runroot shows it ended (its exit
 * file) and no die was logged for that end yet */
void events_ctr_died(const char *root, const char *runroot, const char *id, int code);
/* the same, when its keeper is gone (the state read from the run directory) */
void events_ctr_check(const char *root, const char *runroot, const char *id);
/* a name dropped (untag), and delete when the image has no name left */
void events_img_untagged(const char *root, const char *manifest, const char *name);
/* a new run begins: its end gets a die of its own */
void events_ctr_started(const char *runroot, const char *id);
