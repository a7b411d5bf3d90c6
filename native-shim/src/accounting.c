/*
 * accounting.c — the shim's ex_data indices and the live object counts.
 *
 * OpenSSL calls an index's new_func for every object of its class created after the index was
 * registered, and its free_func for every object freed. The counting callbacks mark the objects
 * they counted (a non-NULL marker in their own slot) so that objects created before the
 * registration, whose slot reads NULL, are never subtracted.
 *
 * The counting index of each class is registered after the shim's data index of that class, so
 * new_func sizes the object's ex_data stack past the data slot: storing a context id stamp later
 * (SSL_SESSION_set_ex_data) is then a plain pointer store that cannot fail or allocate.
 */
#include "fs_internal.h"

#include <stdatomic.h>
#include <stdlib.h>

#include <openssl/crypto.h>

fs_indices fastsession_idx = { -1, -1, -1, -1, -1, -1, -1, -1 };

static _Atomic int64_t g_live_contexts;
static _Atomic int64_t g_live_connections;
static _Atomic int64_t g_live_sessions;
static _Atomic int64_t g_live_certificates;

static CRYPTO_ONCE g_init_once = CRYPTO_ONCE_STATIC_INIT;
static int g_init_ok;

/* The address of this byte marks an object as counted. */
static char g_counted_marker;

static _Atomic int64_t* counter_for(long argl)
{
    switch (argl)
    {
        case CRYPTO_EX_INDEX_SSL_CTX: return &g_live_contexts;
        case CRYPTO_EX_INDEX_SSL: return &g_live_connections;
        case CRYPTO_EX_INDEX_SSL_SESSION: return &g_live_sessions;
        default: return &g_live_certificates;
    }
}

static void count_new(void* parent, void* ptr, CRYPTO_EX_DATA* ad, int idx, long argl, void* argp)
{
    (void)ptr;
    (void)argp;
    if (parent == NULL || ad == NULL)
        return;
    // Only count what could be marked, so the matching free is balanced.
    if (CRYPTO_set_ex_data(ad, idx, &g_counted_marker))
        atomic_fetch_add_explicit(counter_for(argl), 1, memory_order_relaxed);
}

static void count_free(void* parent, void* ptr, CRYPTO_EX_DATA* ad, int idx, long argl, void* argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argp;
    if (ptr == &g_counted_marker)
        atomic_fetch_sub_explicit(counter_for(argl), 1, memory_order_relaxed);
}

/* SSL_CTX data: the fs_ctx_data block. SSL_CTX has no dup. */
static void ctx_data_free(void* parent, void* ptr, CRYPTO_EX_DATA* ad, int idx, long argl, void* argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    fs_ctx_data* data = ptr;
    if (data != NULL)
    {
        OPENSSL_free(data->alpn);
        fastsession_sni_free(data);
        OPENSSL_free(data);
    }
}

/* SSL data: the ring owns session references; SSL_free runs this before it frees the session. */
static void ssl_data_free(void* parent, void* ptr, CRYPTO_EX_DATA* ad, int idx, long argl, void* argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    fs_conn_data* conn = ptr;
    if (conn != NULL)
    {
        fastsession_conn_ring_clear(conn);
        fastsession_verify_clear(conn);
        fastsession_server_cache_clear(conn); // server_cache.c
        fastsession_conn_release(conn);
        OPENSSL_free(conn);
    }
}

/* SSL_dup copies ex_data pointers: a duplicate must not share (and double free) the ring. */
static int ssl_data_dup(CRYPTO_EX_DATA* to, const CRYPTO_EX_DATA* from, void** from_d, int idx,
    long argl, void* argp)
{
    (void)to;
    (void)from;
    (void)idx;
    (void)argl;
    (void)argp;
    *from_d = NULL;
    return 1;
}

static void init_once(void)
{
    // Data indices first, counting indices last (see the comment at the top).
    fastsession_idx.ctx_data = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, NULL, NULL, NULL, ctx_data_free);
    fastsession_idx.ssl_data = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL, 0, NULL, NULL, ssl_data_dup, ssl_data_free);
    // The stamp is an integer, copied as is when OpenSSL duplicates a session (ssl_session_dup).
    fastsession_idx.session_ctx_id = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_SESSION, 0, NULL, NULL, NULL, NULL);
    // The cache mark is copied as is by OpenSSL's own dups (conservative); SslSessionDup clears it.
    fastsession_idx.session_cache = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_SESSION, 0, NULL, NULL, NULL, NULL);

    fastsession_idx.ctx_count = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, CRYPTO_EX_INDEX_SSL_CTX, NULL,
        count_new, NULL, count_free);
    fastsession_idx.ssl_count = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL, CRYPTO_EX_INDEX_SSL, NULL,
        count_new, NULL, count_free);
    fastsession_idx.session_count = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_SESSION, CRYPTO_EX_INDEX_SSL_SESSION,
        NULL, count_new, NULL, count_free);
    fastsession_idx.x509_count = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_X509, CRYPTO_EX_INDEX_X509, NULL,
        count_new, NULL, count_free);

    g_init_ok = fastsession_owner_guard_init() && fastsession_idx.ctx_data >= 0 && fastsession_idx.ssl_data >= 0 && fastsession_idx.session_ctx_id >= 0 &&
        fastsession_idx.session_cache >= 0 &&
        fastsession_idx.ctx_count >= 0 && fastsession_idx.ssl_count >= 0 && fastsession_idx.session_count >= 0 &&
        fastsession_idx.x509_count >= 0;
}

int fastsession_init(void)
{
    if (!CRYPTO_THREAD_run_once(&g_init_once, init_once) || !g_init_ok)
    {
        ERR_raise_data(ERR_LIB_SSL, ERR_R_INIT_FAIL, "FastSession shim: ex_data index registration failed");
        return 0;
    }
    return 1;
}

void fastsession_uncount_x509(X509* cert)
{
    if (cert == NULL || fastsession_idx.x509_count < 0)
        return;
    if (X509_get_ex_data(cert, fastsession_idx.x509_count) == &g_counted_marker &&
        X509_set_ex_data(cert, fastsession_idx.x509_count, NULL))
        atomic_fetch_sub_explicit(&g_live_certificates, 1, memory_order_relaxed);
}

void FastSessionNative_GetLiveCounts(fs_live_counts* counts)
{
    // No error queue impact (registration cannot fail short of memory exhaustion).
    if (counts == NULL)
        return;

    // Registering here defines the baseline: objects created from now on are counted.
    if (!CRYPTO_THREAD_run_once(&g_init_once, init_once))
        return;

    counts->contexts = atomic_load_explicit(&g_live_contexts, memory_order_relaxed);
    counts->connections = atomic_load_explicit(&g_live_connections, memory_order_relaxed);
    counts->sessions = atomic_load_explicit(&g_live_sessions, memory_order_relaxed);
    counts->certificates = atomic_load_explicit(&g_live_certificates, memory_order_relaxed);
}

int32_t FastSessionNative_GetStructSize(int32_t which)
{
    // No error queue impact.
    switch (which)
    {
        case 0: return (int32_t)sizeof(fs_ctx_options);
        case 1: return (int32_t)sizeof(fs_io_result);
        case 2: return (int32_t)sizeof(fs_session_info);
        case 3: return (int32_t)sizeof(fs_live_counts);
        default: return -1;
    }
}
