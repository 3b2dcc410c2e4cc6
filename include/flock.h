/*
 * libflock: the Flock referral and rewards server SDK, in C.
 * Copyright (c) 2026 the flock-c developers. MIT licensed.
 *
 * Include this one header. See docs/ for the guide and README.md for a
 * quick start next to the Node SDK's.
 */
#ifndef FLOCK_H
#define FLOCK_H

#include "flock/common.h"
#include "flock/errors.h"
#include "flock/client.h"
#include "flock/types.h"
#include "flock/api.h"
#include "flock/webhooks.h"
#include "flock/queue.h"

#endif
