/*
 * libflock: the Flock referral and rewards server SDK, in C.
 * Copyright (c) 2026 the flock-c developers. MIT licensed.
 */
#ifndef FLOCK_COMMON_H
#define FLOCK_COMMON_H

/**
 * @file flock/common.h
 * @brief Version, export macro and process-wide set-up.
 */

#include <stddef.h>

#ifdef __cplusplus
#define FLOCK_BEGIN_DECL extern "C" {
#define FLOCK_END_DECL }
#else
#define FLOCK_BEGIN_DECL
#define FLOCK_END_DECL
#endif

/* Only what is declared with FLOCK_EXTERN leaves the shared library. */
#if defined(_WIN32) && defined(FLOCK_BUILDING_LIBRARY)
#define FLOCK_EXTERN(type) extern __declspec(dllexport) type
#elif defined(__GNUC__)
#define FLOCK_EXTERN(type) extern __attribute__((visibility("default"))) type
#else
#define FLOCK_EXTERN(type) extern type
#endif

/* The single place the version lives; CMake reads it from here. */
#define FLOCK_VERSION_MAJOR 0
#define FLOCK_VERSION_MINOR 2
#define FLOCK_VERSION_PATCH 0
#define FLOCK_VERSION "0.2.0"

/*
 * The ABI version: the SONAME is libflock.so.FLOCK_ABI_VERSION. Raised by
 * one on every incompatible change to the ABI, during 0.x too, and only
 * then (docs/libflock.md, "ABI and SONAME"). 0: libflock 0.1; 1: 0.2.
 * tests/headers/abi/ holds the recorded layout of this ABI, and a test
 * fails when a change breaks it without raising this number.
 */
#define FLOCK_ABI_VERSION 1

FLOCK_BEGIN_DECL

/**
 * The version of the library actually linked (which may differ from the
 * FLOCK_VERSION the caller was compiled against).
 *
 * @param major, minor, patch  may each be NULL
 * @return the version string, static storage: never free it
 */
FLOCK_EXTERN(const char *) flock_version(int *major, int *minor, int *patch);

/**
 * Process-wide set-up (libcurl's global state, OpenSSL). Reference
 * counted: every successful call must be matched by one
 * flock_global_cleanup(). Calling it more than once is harmless.
 * flock_client_new() calls it for you; call it yourself before starting
 * threads if your program also uses libcurl directly.
 *
 * @return 0, or FLOCK_ENOMEM / FLOCK_ERROR if libcurl could not start
 */
FLOCK_EXTERN(int) flock_global_init(void);

/**
 * Drop one reference taken by flock_global_init(); the last one releases
 * libcurl's global state. Extra calls are ignored.
 */
FLOCK_EXTERN(void) flock_global_cleanup(void);

/** Severity of a message passed to a flock_log_cb. */
typedef enum {
	FLOCK_LOG_DEBUG = 0,
	FLOCK_LOG_INFO = 1,
	FLOCK_LOG_WARN = 2,
	FLOCK_LOG_ERROR = 3
} flock_log_level;

/**
 * Log callback. libflock is silent unless one is set on a client. `msg` is
 * valid only during the call. Never receives access keys or webhook
 * secrets. May be called from any thread that uses the client.
 */
typedef void (*flock_log_cb)(flock_log_level level, const char *msg,
                             void *userdata);

FLOCK_END_DECL

#endif
