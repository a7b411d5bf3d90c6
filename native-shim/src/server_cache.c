/*
 * server_cache.c — a server session cache outside the process (issue #16 item 3): OpenSSL's external
 * cache callbacks with the lookup made asynchronous.
 *
 * OpenSSL asks its get-session callback synchronously, in the middle of SSL_do_handshake; managed code
 * must not run there and no thread may wait on the network there. So the lookup happens one step
 * earlier: the client-hello callback (SSL_CTX_set_client_hello_cb) reads the key the client offers
 * (a TLS 1.2 session id, or a TLS 1.3 PSK identity of exactly SSL_MAX_SSL_SESSION_ID_LENGTH bytes,
 * which is what OpenSSL's stateful tickets are), records it and returns SSL_CLIENT_HELLO_RETRY:
 * SSL_do_handshake returns with SSL_ERROR_WANT_CLIENT_HELLO_CB. Managed code reads the key
 * (FastSessionNative_SslGetSessionLookup), awaits its store, hands the DER session or nothing back
 * (FastSessionNative_SslProvideSession) and calls SSL_do_handshake again: the client-hello callback
 * now lets the handshake go on, and the get-session callback returns what was provided.
 *
 * New sessions reach the store through the new-session callback the context already has (the ring,
 * context.c); remove-callback events are only counted here (SSL_CTX_sess_set_remove_cb gives no SSL and runs
 * inside OpenSSL). S8 for the external store is managed code's: when a server connection ends uncleanly or
 * with a fatal error, SslConnection (SslConnection.ServerCache.cs) deletes what it stored from the store.
 */
#include "fs_internal.h"

#include <stdatomic.h>
#include <string.h>

_Static_assert(FS_SSL_ERROR_WANT_CLIENT_HELLO_CB == SSL_ERROR_WANT_CLIENT_HELLO_CB, "FS_SSL_ERROR_WANT_CLIENT_HELLO_CB");
_Static_assert(FS_SESSION_LOOKUP_NONE == 0 && FS_SESSION_LOOKUP_SESSION_ID == 1 && FS_SESSION_LOOKUP_PSK_IDENTITY == 2,
    "FS_SESSION_LOOKUP_*");
_Static_assert(FS_SESS_CACHE_NO_INTERNAL_LOOKUP == SSL_SESS_CACHE_NO_INTERNAL_LOOKUP &&
    FS_SESS_CACHE_NO_INTERNAL_STORE == SSL_SESS_CACHE_NO_INTERNAL_STORE, "FS_SESS_CACHE_*");
_Static_assert(sizeof(fs_server_cache_counts) == 48, "sizeof(fs_server_cache_counts)");

static _Atomic int64_t g_lookups;
static _Atomic int64_t g_provided;
static _Atomic int64_t g_rejected;
static _Atomic int64_t g_returned;
static _Atomic int64_t g_removed;
static _Atomic int64_t g_skipped;

static void add(_Atomic int64_t* counter)
{
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
}

void fastsession_server_cache_clear(fs_conn_data* conn)
{
    if (conn == NULL)
        return;
    SSL_SESSION_free(conn->lookup.session);
    memset(&conn->lookup, 0, sizeof(conn->lookup));
}

/* The first PSK identity of a pre_shared_key extension (RFC 8446 4.2.11), or 0. */
static int first_psk_identity(const unsigned char* ext, size_t len, const unsigned char** id, size_t* id_len)
{
    if (len < 4)
        return 0;
    size_t identities = ((size_t)ext[0] << 8) | ext[1];
    size_t first = ((size_t)ext[2] << 8) | ext[3];
    if (identities + 2 > len || first + 2 + 4 > identities)
        return 0;
    *id = ext + 4;
    *id_len = first;
    return 1;
}

static int offers_tls13(SSL* ssl)
{
    if (SSL_get_max_proto_version(ssl) != 0 && SSL_get_max_proto_version(ssl) < TLS1_3_VERSION)
        return 0;
    const unsigned char* ext = NULL;
    size_t len = 0;
    if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_supported_versions, &ext, &len) || len < 1)
        return 0;
    for (size_t i = 1; i + 1 < len && i + 1 <= ext[0]; i += 2)
        if (ext[i] == 0x03 && ext[i + 1] == 0x04)
            return 1;
    return 0;
}

/* Decides what, if anything, the store must be asked for. Returns the FS_SESSION_LOOKUP_* kind. */
static int32_t lookup_key(SSL* ssl, const unsigned char** key, size_t* key_len)
{
    if (offers_tls13(ssl))
    {
        // TLS 1.3: the legacy session id is random; only a stateful ticket (a 32-byte identity) is a key.
        const unsigned char* ext = NULL;
        size_t len = 0;
        if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_psk, &ext, &len) ||
            !first_psk_identity(ext, len, key, key_len) || *key_len != SSL_MAX_SSL_SESSION_ID_LENGTH ||
            (SSL_get_options(ssl) & SSL_OP_NO_TICKET) == 0)
            return FS_SESSION_LOOKUP_NONE;
        return FS_SESSION_LOOKUP_PSK_IDENTITY;
    }
    // TLS 1.2: a non-empty ticket wins over the id when tickets are on (the id is then the client's random).
    const unsigned char* ticket = NULL;
    size_t ticket_len = 0;
    if ((SSL_get_options(ssl) & SSL_OP_NO_TICKET) == 0 &&
        SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_session_ticket, &ticket, &ticket_len) && ticket_len > 0)
        return FS_SESSION_LOOKUP_NONE;
    *key_len = SSL_client_hello_get0_session_id(ssl, key);
    if (*key_len == 0 || *key_len > SSL_MAX_SSL_SESSION_ID_LENGTH)
        return FS_SESSION_LOOKUP_NONE;
    return FS_SESSION_LOOKUP_SESSION_ID;
}

/* First call: record the key and pause (SSL_CLIENT_HELLO_RETRY). After the answer (and for a second
 * ClientHello after HelloRetryRequest): go on. Nothing to look up: go on at once. */
static int client_hello_cb(SSL* ssl, int* alert, void* arg)
{
    (void)alert;
    (void)arg;
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (conn == NULL || conn->lookup.state == FS_LOOKUP_STATE_ANSWERED)
        return SSL_CLIENT_HELLO_SUCCESS;
    if (conn->lookup.state == FS_LOOKUP_STATE_PENDING)
        return SSL_CLIENT_HELLO_RETRY; // called again before an answer: still waiting

    const unsigned char* key = NULL;
    size_t key_len = 0;
    int32_t kind = lookup_key(ssl, &key, &key_len);
    if (kind == FS_SESSION_LOOKUP_NONE)
    {
        add(&g_skipped);
        conn->lookup.state = FS_LOOKUP_STATE_ANSWERED;
        return SSL_CLIENT_HELLO_SUCCESS;
    }
    memcpy(conn->lookup.key, key, key_len);
    conn->lookup.key_len = (int32_t)key_len;
    conn->lookup.kind = kind;
    conn->lookup.state = FS_LOOKUP_STATE_PENDING;
    add(&g_lookups);
    return SSL_CLIENT_HELLO_RETRY;
}

/* Returns the provided session when its id is the one asked for; OpenSSL takes a reference (*copy = 1),
 * ours goes with the connection. */
static SSL_SESSION* get_session_cb(SSL* ssl, const unsigned char* id, int id_len, int* copy)
{
    *copy = 1;
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (conn == NULL || conn->lookup.session == NULL || id_len != conn->lookup.key_len ||
        memcmp(id, conn->lookup.key, (size_t)id_len) != 0)
        return NULL;
    add(&g_returned);
    return conn->lookup.session;
}

static void remove_session_cb(SSL_CTX* ctx, SSL_SESSION* session)
{
    (void)ctx;
    (void)session;
    add(&g_removed);
}

/*
 * Shims SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | mode) with the client-hello,
 * get-session and remove callbacks (SSL_CTX_set_client_hello_cb, SSL_CTX_sess_set_get_cb,
 * SSL_CTX_sess_set_remove_cb). `mode` may hold FS_SESS_CACHE_NO_INTERNAL_LOOKUP and
 * FS_SESS_CACHE_NO_INTERNAL_STORE. Server contexts only. Returns the previous cache mode, or
 * FS_ERR_ARGUMENT.
 */
int32_t FastSessionNative_SslCtxSetExternalSessionCache(SSL_CTX* ctx, int32_t mode)
{
    ERR_clear_error();

    fs_ctx_data* data = fastsession_ctx_get_data(ctx);
    if (data == NULL || !data->is_server ||
        (mode & ~(FS_SESS_CACHE_NO_INTERNAL_LOOKUP | FS_SESS_CACHE_NO_INTERNAL_STORE)) != 0)
    {
        fastsession_raise_argument("a FastSession server context and FS_SESS_CACHE_NO_INTERNAL_* flags expected");
        return FS_ERR_ARGUMENT;
    }
    SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, NULL);
    SSL_CTX_sess_set_get_cb(ctx, get_session_cb);
    SSL_CTX_sess_set_remove_cb(ctx, remove_session_cb);
    return (int32_t)SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | mode);
}

/* Shims SSL_CTX_get_session_cache_mode. No error queue impact. */
int32_t FastSessionNative_SslCtxGetSessionCacheMode(SSL_CTX* ctx)
{
    return ctx != NULL ? (int32_t)SSL_CTX_get_session_cache_mode(ctx) : 0;
}

/*
 * The key a paused handshake (SSL_ERROR_WANT_CLIENT_HELLO_CB) waits for: copies it into `key`
 * (FS_SESSION_ID_MAX bytes) and returns its FS_SESSION_LOOKUP_* kind, FS_SESSION_LOOKUP_NONE when
 * nothing is pending. No error queue impact.
 */
int32_t FastSessionNative_SslGetSessionLookup(SSL* ssl, uint8_t* key, int32_t key_cap, int32_t* key_len)
{
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (key_len != NULL)
        *key_len = 0;
    if (conn == NULL || key == NULL || key_len == NULL || conn->lookup.state != FS_LOOKUP_STATE_PENDING)
        return FS_SESSION_LOOKUP_NONE;
    if (key_cap < conn->lookup.key_len)
        return FS_ERR_ARGUMENT; /* the caller's room is FS_SESSION_ID_MAX; never write past a smaller one */
    memcpy(key, conn->lookup.key, (size_t)conn->lookup.key_len);
    *key_len = conn->lookup.key_len;
    return conn->lookup.kind;
}

/*
 * Answers the pending lookup with a DER session (d2i_SSL_SESSION), or none (der_len 0). Returns 1
 * when the session will be offered to OpenSSL, 0 for none or for bytes that are not a session of
 * this key (counted as rejected: a miss, never a failure), FS_ERR_ARGUMENT when nothing is pending.
 */
int32_t FastSessionNative_SslProvideSession(SSL* ssl, const uint8_t* der, int32_t der_len)
{
    ERR_clear_error();

    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (conn == NULL || conn->lookup.state != FS_LOOKUP_STATE_PENDING || der_len < 0 || (der == NULL && der_len > 0))
    {
        fastsession_raise_argument("no session lookup is pending on this connection");
        return FS_ERR_ARGUMENT;
    }
    conn->lookup.state = FS_LOOKUP_STATE_ANSWERED;
    if (der_len == 0)
        return 0;

    const unsigned char* p = der;
    SSL_SESSION* session = d2i_SSL_SESSION(NULL, &p, der_len);
    unsigned int id_len = 0;
    const unsigned char* id = session != NULL ? SSL_SESSION_get_id(session, &id_len) : NULL;
    if (session == NULL || p != der + der_len || (int32_t)id_len != conn->lookup.key_len ||
        memcmp(id, conn->lookup.key, id_len) != 0)
    {
        SSL_SESSION_free(session);
        ERR_clear_error(); // garbage from a store is a miss, not an error of this connection
        add(&g_rejected);
        return 0;
    }
    (void)fastsession_session_bind(session, fastsession_ctx_id(SSL_get_SSL_CTX(ssl)));
    conn->lookup.session = session;
    add(&g_provided);
    return 1;
}

/*
 * Shims SSL_CTX_set_session_id_context for a server context. Every FastSession server context starts
 * with the same context ("fastsession", context.c) so that a fleet's processes resume each other's
 * sessions; the managed layer replaces it with one derived from the client-authentication policy, so
 * that a session of a context that never asked for a client certificate is a miss (ssl_get_prev_session,
 * tls_parse_ctos_psk) on a context that requires one, even through a shared store or shared ticket keys.
 * At most SSL_MAX_SID_CTX_LENGTH (32) bytes. Returns FS_OK, FS_ERR_ARGUMENT or FS_ERR_OPENSSL.
 */
int32_t FastSessionNative_SslCtxSetSessionIdContext(SSL_CTX* ctx, const uint8_t* sid_ctx, int32_t length)
{
    ERR_clear_error();

    fs_ctx_data* data = fastsession_ctx_get_data(ctx);
    if (data == NULL || !data->is_server || sid_ctx == NULL || length <= 0 || length > SSL_MAX_SID_CTX_LENGTH)
    {
        fastsession_raise_argument("a FastSession server context and 1 to 32 bytes of session id context expected");
        return FS_ERR_ARGUMENT;
    }
    return SSL_CTX_set_session_id_context(ctx, sid_ctx, (unsigned int)length) ? FS_OK : FS_ERR_OPENSSL;
}

/* Process-wide counts of the server cache's events. No error queue impact. */
void FastSessionNative_GetServerCacheCounts(fs_server_cache_counts* counts)
{
    if (counts == NULL)
        return;
    counts->lookups = atomic_load_explicit(&g_lookups, memory_order_relaxed);
    counts->provided = atomic_load_explicit(&g_provided, memory_order_relaxed);
    counts->rejected = atomic_load_explicit(&g_rejected, memory_order_relaxed);
    counts->returned = atomic_load_explicit(&g_returned, memory_order_relaxed);
    counts->removed = atomic_load_explicit(&g_removed, memory_order_relaxed);
    counts->skipped = atomic_load_explicit(&g_skipped, memory_order_relaxed);
}
