/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Bring up lo in the calling process's network namespace (a fresh one has it down). */
void net_loopback_up(void);
