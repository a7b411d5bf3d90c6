/*
 * test_support.h — a tiny test harness for the shim's C tests: self-registering cases, CHECK
 * macros, context/connection factories and a byte shuttle between two memory-BIO connections.
 */
#ifndef FASTSESSION_TEST_SUPPORT_H
#define FASTSESSION_TEST_SUPPORT_H

#include "fastsession_shim.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*fs_test_fn)(void);
void fs_test_register(const char* name, fs_test_fn fn);

/* FS_TEST(name) { ... } defines and registers one case; CMakeLists.txt reads these lines too. */
#define FS_TEST(name)                                                              \
    static void name(void);                                                        \
    __attribute__((constructor)) static void fs_register_##name(void)              \
    {                                                                              \
        fs_test_register(#name, name);                                             \
    }                                                                              \
    static void name(void)

void fs_test_fail(const char* file, int line, const char* what);

#define CHECK(cond)                                         \
    do                                                      \
    {                                                       \
        if (!(cond))                                        \
            fs_test_fail(__FILE__, __LINE__, #cond);        \
    } while (0)

#define CHECK_EQ(a, b)                                                                        \
    do                                                                                        \
    {                                                                                         \
        long long fs_a_ = (long long)(a), fs_b_ = (long long)(b);                             \
        if (fs_a_ != fs_b_)                                                                   \
        {                                                                                     \
            fprintf(stderr, "  %s = %lld, %s = %lld\n", #a, fs_a_, #b, fs_b_);                \
            fs_test_fail(__FILE__, __LINE__, #a " == " #b);                                   \
        }                                                                                     \
    } while (0)

/* Live-count baseline: take one at the start of a case, check it at the end. */
fs_live_counts fs_counts(void);
void fs_check_counts_equal(const fs_live_counts* before, const char* file, int line);
#define CHECK_BASELINE(before) fs_check_counts_equal(&(before), __FILE__, __LINE__)

/* Options with the test defaults: both versions allowed, tickets on, capture on. */
fs_ctx_options fs_server_options(int32_t version);
fs_ctx_options fs_client_options(int32_t version);

/* Creates the context and checks it (ephemeral certificate "localhost" on servers). */
SSL_CTX* fs_make_ctx(const fs_ctx_options* options);

#define FS_INBOX_CAP (4 * 1024 * 1024) /* room for one flight of 5,000 TLS 1.3 tickets */

typedef struct fs_inbox {
    uint8_t data[FS_INBOX_CAP];
    int32_t len;
} fs_inbox;

typedef struct fs_pair {
    SSL* client;
    SSL* server;
    fs_inbox to_client;
    fs_inbox to_server;
    int32_t out_cap; /* out buffer size used for each call (small values exercise draining) */
} fs_pair;

/* Allocated (the inboxes are large); free with fs_pair_free (also frees both SSL objects). */
fs_pair* fs_pair_new(SSL_CTX* client_ctx, SSL_CTX* server_ctx, const char* sni);
void fs_pair_free(fs_pair* pair);

/* Runs handshake flights until both sides finish; returns 1 on success, 0 on failure (no
 * CHECK: failing handshakes are a tested outcome). */
int fs_handshake(fs_pair* pair);

/* Feeds everything waiting for `ssl` into SslRead (processing tickets, alerts, data). Returns the
 * last fs_io_result; plaintext goes to plain (cap bytes). */
fs_io_result fs_read(fs_pair* pair, int client_side, uint8_t* plain, int32_t cap);

/* Writes plaintext on one side and delivers the ciphertext to the other's inbox. */
fs_io_result fs_write(fs_pair* pair, int client_side, const void* plain, int32_t len);

/* Sends close_notify from one side (delivered to the peer). */
fs_io_result fs_shutdown(fs_pair* pair, int client_side);

/* Takes every captured session from the ring; returns the count. */
int32_t fs_take_all(SSL* ssl, SSL_SESSION** out, int32_t cap);

/* Full client+server handshake with an optional session to resume, clean shutdown, and the
 * reused flag. Captured client sessions are returned (caller frees) when out != NULL. */
int fs_connect_once(SSL_CTX* client_ctx, SSL_CTX* server_ctx, SSL_SESSION* resume, int* reused,
    SSL_SESSION** out, int32_t out_cap, int32_t* out_count);

#endif
