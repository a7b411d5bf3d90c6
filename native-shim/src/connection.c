/*
 * connection.c — SSL objects over two memory BIOs: the batched engine calls and the
 * per-connection ring of sessions captured by the new-session callback.
 */
#include "fs_internal.h"

#include <limits.h>
#include <string.h>

fs_conn_data* fastsession_conn_get_data(const SSL* ssl)
{
    if (ssl == NULL || fastsession_idx.ssl_data < 0)
        return NULL;
    return SSL_get_ex_data(ssl, fastsession_idx.ssl_data);
}

void fastsession_conn_init(fs_conn_data* conn)
{
    conn->ring = conn->inline_ring;
    conn->capacity = FS_NEW_SESSION_RING_CAPACITY;
}

void fastsession_conn_release(fs_conn_data* conn)
{
    if (conn->ring != conn->inline_ring)
        OPENSSL_free(conn->ring);
    fastsession_conn_init(conn);
}

void fastsession_conn_ring_clear(fs_conn_data* conn)
{
    while (conn->count > 0)
    {
        SSL_SESSION_free(conn->ring[conn->head]);
        conn->ring[conn->head] = NULL;
        conn->head = (conn->head + 1) & (conn->capacity - 1);
        conn->count--;
    }
    conn->head = 0;
}

/* Doubles the ring, unrolling it so the oldest session lands at index 0. Returns 0 when the bound
 * is reached or memory runs out (the caller then drops the oldest session and counts it). */
static int ring_grow(fs_conn_data* conn)
{
    if (conn->capacity >= FS_NEW_SESSION_QUEUE_MAX)
        return 0;
    int32_t capacity = conn->capacity * 2;
    SSL_SESSION** ring = OPENSSL_malloc(sizeof(*ring) * (size_t)capacity);
    if (ring == NULL)
        return 0;
    for (int32_t i = 0; i < conn->count; i++)
        ring[i] = conn->ring[(conn->head + i) & (conn->capacity - 1)];
    if (conn->ring != conn->inline_ring)
        OPENSSL_free(conn->ring);
    conn->ring = ring;
    conn->capacity = capacity;
    conn->head = 0;
    return 1;
}

/*
 * OpenSSL calls this with a reference it took for us (ssl_update_cache: up_ref, then the
 * callback). Returning 1 keeps that reference in the ring; returning 0 lets OpenSSL drop it.
 * Client: every session established (TLS 1.2 at the end of a full handshake, TLS 1.3 once per
 * NewSessionTicket). Server: every session added to the cache or sent as a ticket.
 * One peer flight may carry thousands of tickets processed inside a single SSL_read, before
 * managed code can take any: the ring grows instead of dropping (S6, S7).
 */
int fastsession_new_session_cb(SSL* ssl, SSL_SESSION* session)
{
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (conn == NULL)
        return 0;

    // A session created on this connection belongs to its context; a mismatch cannot happen
    // (SslSetSession refuses foreign sessions), and it would not be a reason to lose a ticket.
    (void)fastsession_session_bind(session, fastsession_ctx_id(SSL_get_SSL_CTX(ssl)));
    // A server session reaches the ring right after ssl_update_cache may have cached it; several per
    // call (TLS 1.3 tickets) are never the connection's session at the end of the call: mark here.
    if (SSL_is_server(ssl) && fastsession_session_cache_ctx(session) == 0)
        fastsession_session_mark_cached(session, fastsession_ctx_id(SSL_get_SSL_CTX(ssl)));
    fastsession_observe_session_captured(session); // observe

    conn->established++;
    if (conn->count == conn->capacity && !ring_grow(conn))
    {
        // The documented bound (FS_NEW_SESSION_QUEUE_MAX waiting) or out of memory: drop the
        // oldest, counted.
        SSL_SESSION_free(conn->ring[conn->head]);
        conn->ring[conn->head] = NULL;
        conn->head = (conn->head + 1) & (conn->capacity - 1);
        conn->count--;
        conn->dropped++;
    }

    conn->ring[(conn->head + conn->count) & (conn->capacity - 1)] = session;
    conn->count++;
    return 1;
}

static void set_role_state(SSL* ssl, int is_server)
{
    if (is_server)
        SSL_set_accept_state(ssl);
    else
        SSL_set_connect_state(ssl);
}

SSL* FastSessionNative_SslCreate(SSL_CTX* ctx, const char* server_name)
{
    ERR_clear_error();

    if (ctx == NULL)
    {
        fastsession_raise_argument("ctx is NULL");
        return NULL;
    }
    if (!fastsession_init())
        return NULL;

    SSL* ssl = SSL_new(ctx);
    if (ssl == NULL)
        return NULL;

    fs_conn_data* conn = OPENSSL_zalloc(sizeof(*conn));
    if (conn == NULL)
        goto fail;
    fastsession_conn_init(conn);
    if (!SSL_set_ex_data(ssl, fastsession_idx.ssl_data, conn))
    {
        OPENSSL_free(conn);
        goto fail;
    }

    BIO* rbio = BIO_new(BIO_s_mem());
    BIO* wbio = BIO_new(BIO_s_mem());
    if (rbio == NULL || wbio == NULL)
    {
        BIO_free(rbio);
        BIO_free(wbio);
        goto fail;
    }
    // SSL_set_bio takes ownership of both BIOs; SSL_free frees them.
    SSL_set_bio(ssl, rbio, wbio);

    fs_ctx_data* ctx_data = fastsession_ctx_get_data(ctx);
    conn->is_server = ctx_data != NULL ? ctx_data->is_server : SSL_is_server(ssl);
    set_role_state(ssl, conn->is_server);

    if (server_name != NULL && !conn->is_server && !fastsession_is_ip_literal(server_name) &&
        !SSL_set_tlsext_host_name(ssl, server_name))
        goto fail;
    if (server_name != NULL && !conn->is_server && !fastsession_verify_set_name(ssl, server_name))
        goto fail;

    return ssl;

fail:
    if (ERR_peek_error() == 0)
        ERR_raise(ERR_LIB_SSL, ERR_R_INTERNAL_ERROR);
    SSL_free(ssl); // also frees conn through the ex_data free callback
    return NULL;
}

void FastSessionNative_SslFree(SSL* ssl)
{
    // The ring's sessions are freed by the ex_data free callback inside SSL_free; the last reference
    // to the SSL_CTX may go with it, hence the session-owner guard (fs_internal.h).
    fastsession_ssl_free_guarded(ssl);
}

int32_t FastSessionNative_SslClear(SSL* ssl, const char* server_name)
{
    ERR_clear_error();

    if (ssl == NULL)
    {
        fastsession_raise_argument("ssl is NULL");
        return FS_ERR_ARGUMENT;
    }

    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    int is_server = conn != NULL ? conn->is_server : SSL_is_server(ssl);

    if (!SSL_clear(ssl))
        return FS_ERR_OPENSSL;

    // After a clean shutdown SSL_clear keeps the old session, and a client would offer it again
    // in the next handshake. The reused object starts without one: resumption is explicit
    // (FastSessionNative_SslSetSession). In the "before" state this cannot touch the cache.
    if (!SSL_set_session(ssl, NULL))
        return FS_ERR_OPENSSL;

    (void)BIO_reset(SSL_get_rbio(ssl));
    (void)BIO_reset(SSL_get_wbio(ssl));

    if (conn != NULL)
    {
        fastsession_conn_ring_clear(conn);
        fastsession_conn_release(conn);
        conn->dropped = 0;
        fastsession_verify_clear(conn);
        fastsession_observe_clear(conn); // observe
        fastsession_server_cache_clear(conn); // server_cache.c
        fastsession_early_data_clear(conn); // early_data.c
    }

    set_role_state(ssl, is_server);

    if (server_name != NULL && !is_server && !fastsession_is_ip_literal(server_name) &&
        !SSL_set_tlsext_host_name(ssl, server_name))
        return FS_ERR_OPENSSL;
    if (server_name != NULL && !is_server && !fastsession_verify_set_name(ssl, server_name))
        return FS_ERR_OPENSSL;

    return FS_OK;
}

/* ---- The batched engine ------------------------------------------------------------------- */

static int32_t clamp_to_int32(size_t n)
{
    return n > INT32_MAX ? INT32_MAX : (int32_t)n;
}

static int32_t drain(SSL* ssl, uint8_t* out, int32_t out_cap)
{
    BIO* wbio = SSL_get_wbio(ssl);
    if (wbio == NULL || out == NULL || out_cap <= 0)
        return 0;
    int n = BIO_read(wbio, out, out_cap);
    return n > 0 ? n : 0;
}

static int32_t pending(SSL* ssl)
{
    BIO* wbio = SSL_get_wbio(ssl);
    return wbio != NULL ? clamp_to_int32(BIO_ctrl_pending(wbio)) : 0;
}

/* Validates the call and feeds `in` to the read BIO. Returns 1 to go on, 0 when *result
 * already holds the failure. */
static int io_begin(SSL* ssl, const uint8_t* in, int32_t in_len, fs_io_result* result)
{
    memset(result, 0, sizeof(*result));

    if (ssl == NULL || in_len < 0 || (in == NULL && in_len > 0))
    {
        fastsession_raise_argument("invalid connection call arguments");
        result->ret = FS_ERR_ARGUMENT;
        result->ssl_error = FS_SSL_ERROR_SSL;
        result->error_code = ERR_peek_last_error();
        return 0;
    }

    if (in_len > 0)
    {
        // A memory BIO takes everything (it grows) unless memory runs out.
        int n = BIO_write(SSL_get_rbio(ssl), in, in_len);
        if (n != in_len)
        {
            if (ERR_peek_error() == 0)
                ERR_raise(ERR_LIB_SSL, ERR_R_BIO_LIB);
            result->ret = FS_ERR_OPENSSL;
            result->ssl_error = FS_SSL_ERROR_SSL;
            result->error_code = ERR_peek_last_error();
            return 0;
        }
        result->bytes_consumed = in_len;
    }

    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (conn != NULL)
        conn->established = 0;
    return 1;
}

static int32_t io_end(SSL* ssl, int ret, int ssl_error, uint8_t* out, int32_t out_cap, fs_io_result* result)
{
    result->ret = ret;
    result->ssl_error = ssl_error;
    if (ssl_error == SSL_ERROR_SSL || ssl_error == SSL_ERROR_SYSCALL)
        result->error_code = ERR_peek_last_error();

    result->bytes_produced = drain(ssl, out, out_cap);
    result->pending_output = pending(ssl);

    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    result->new_sessions = conn != NULL ? conn->established : 0;
    result->handshake_done = SSL_is_init_finished(ssl) ? 1 : 0;
    // Before any view or get1 can reach it (the cache mark, fs_internal.h).
    fastsession_mark_server_session(ssl);
    return ret;
}

/* The same two halves for the engine calls of other files (early_data.c). */
int fastsession_io_begin(SSL* ssl, const uint8_t* in, int32_t in_len, fs_io_result* result)
{
    return io_begin(ssl, in, in_len, result);
}

int32_t fastsession_io_end(SSL* ssl, int ret, int ssl_error, uint8_t* out, int32_t out_cap, fs_io_result* result)
{
    return io_end(ssl, ret, ssl_error, out, out_cap, result);
}

int32_t FastSessionNative_SslDoHandshake(SSL* ssl, const uint8_t* in, int32_t in_len,
    uint8_t* out, int32_t out_cap, fs_io_result* result)
{
    ERR_clear_error();

    if (result == NULL)
        return FS_ERR_ARGUMENT;
    if (!io_begin(ssl, in, in_len, result))
        return result->ret;

    int ret = SSL_do_handshake(ssl);
    int err = ret > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, ret);
    return io_end(ssl, ret, err, out, out_cap, result);
}

int32_t FastSessionNative_SslRead(SSL* ssl, const uint8_t* in, int32_t in_len,
    uint8_t* plain, int32_t plain_cap, uint8_t* out, int32_t out_cap, fs_io_result* result)
{
    ERR_clear_error();

    if (result == NULL)
        return FS_ERR_ARGUMENT;
    if (plain_cap < 0 || (plain == NULL && plain_cap > 0))
    {
        memset(result, 0, sizeof(*result));
        fastsession_raise_argument("invalid plaintext buffer");
        result->ret = FS_ERR_ARGUMENT;
        result->ssl_error = FS_SSL_ERROR_SSL;
        result->error_code = ERR_peek_last_error();
        return result->ret;
    }
    if (!io_begin(ssl, in, in_len, result))
        return result->ret;

    int ret;
    int err = SSL_ERROR_NONE;
    if (plain_cap == 0)
    {
        // No room for plaintext: process the records (post-handshake messages) without
        // consuming application data.
        unsigned char probe;
        size_t n = 0;
        ret = SSL_peek_ex(ssl, &probe, 1, &n);
        if (ret <= 0)
            err = SSL_get_error(ssl, ret);
    }
    else
    {
        // SSL_read_ex returns at most one record: go on while input remains and room is left.
        size_t total = 0;
        BIO* rbio = SSL_get_rbio(ssl);
        for (;;)
        {
            size_t n = 0;
            ret = SSL_read_ex(ssl, plain + total, (size_t)plain_cap - total, &n);
            if (ret <= 0)
            {
                err = SSL_get_error(ssl, ret);
                break;
            }
            total += n;
            if (total == (size_t)plain_cap || (SSL_pending(ssl) == 0 && BIO_ctrl_pending(rbio) == 0))
                break;
        }
        result->plaintext_bytes = (int32_t)total;
        // Plaintext followed by "need more input" is a plain success.
        if (total > 0 && err == SSL_ERROR_WANT_READ)
        {
            ret = 1;
            err = SSL_ERROR_NONE;
        }
    }
    return io_end(ssl, ret, err, out, out_cap, result);
}

int32_t FastSessionNative_SslWrite(SSL* ssl, const uint8_t* plain, int32_t plain_len,
    uint8_t* out, int32_t out_cap, fs_io_result* result)
{
    ERR_clear_error();

    if (result == NULL)
        return FS_ERR_ARGUMENT;
    if (plain_len < 0 || (plain == NULL && plain_len > 0))
    {
        memset(result, 0, sizeof(*result));
        fastsession_raise_argument("invalid plaintext buffer");
        result->ret = FS_ERR_ARGUMENT;
        result->ssl_error = FS_SSL_ERROR_SSL;
        result->error_code = ERR_peek_last_error();
        return result->ret;
    }
    if (!io_begin(ssl, NULL, 0, result))
        return result->ret;

    int ret = 1;
    int err = SSL_ERROR_NONE;
    if (plain_len > 0)
    {
        size_t written = 0;
        ret = SSL_write_ex(ssl, plain, (size_t)plain_len, &written);
        if (ret <= 0)
            err = SSL_get_error(ssl, ret);
        result->plaintext_bytes = (int32_t)written;
    }
    return io_end(ssl, ret, err, out, out_cap, result);
}

int32_t FastSessionNative_SslShutdown(SSL* ssl, uint8_t* out, int32_t out_cap, fs_io_result* result)
{
    // The same step with no peer bytes to feed first.
    return FastSessionNative_SslShutdownWithInput(ssl, NULL, 0, out, out_cap, result);
}

int32_t FastSessionNative_SslShutdownWithInput(SSL* ssl, const uint8_t* in, int32_t in_len,
    uint8_t* out, int32_t out_cap, fs_io_result* result)
{
    ERR_clear_error();

    if (result == NULL)
        return FS_ERR_ARGUMENT;
    if (!io_begin(ssl, in, in_len, result))
        return result->ret;

    int ret = SSL_shutdown(ssl);
    // 0 is progress (close_notify sent), not a failure: SSL_get_error must not be asked.
    int err = ret < 0 ? SSL_get_error(ssl, ret) : SSL_ERROR_NONE;
    return io_end(ssl, ret, err, out, out_cap, result);
}

int32_t FastSessionNative_SslDrainOutput(SSL* ssl, uint8_t* out, int32_t out_cap)
{
    // No error queue impact.
    return ssl != NULL ? drain(ssl, out, out_cap) : 0;
}

int32_t FastSessionNative_SslPendingOutput(SSL* ssl)
{
    // No error queue impact.
    return ssl != NULL ? pending(ssl) : 0;
}

int32_t FastSessionNative_SslTakeNewSessions(SSL* ssl, SSL_SESSION** sessions, int32_t cap)
{
    // No error queue impact.
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (conn == NULL || sessions == NULL || cap <= 0)
        return 0;

    int32_t taken = 0;
    while (taken < cap && conn->count > 0)
    {
        sessions[taken++] = conn->ring[conn->head];
        conn->ring[conn->head] = NULL;
        conn->head = (conn->head + 1) & (conn->capacity - 1);
        conn->count--;
    }
    if (conn->count == 0)
        conn->head = 0;
    return taken;
}

int32_t FastSessionNative_SslNewSessionTicket(SSL* ssl)
{
    ERR_clear_error();

    if (ssl == NULL)
    {
        fastsession_raise_argument("ssl is NULL");
        return FS_ERR_ARGUMENT;
    }
    return SSL_new_session_ticket(ssl) == 1 ? FS_OK : FS_ERR_OPENSSL;
}

int32_t FastSessionNative_SslGetDroppedSessionCount(SSL* ssl)
{
    // No error queue impact.
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    return conn != NULL ? conn->dropped : 0;
}

int32_t FastSessionNative_SslSessionReused(SSL* ssl)
{
    // No error queue impact.
    return ssl != NULL ? SSL_session_reused(ssl) : 0;
}

int32_t FastSessionNative_SslVersion(SSL* ssl)
{
    // No error queue impact.
    return ssl != NULL ? SSL_version(ssl) : 0;
}

int32_t FastSessionNative_SslIsInitFinished(SSL* ssl)
{
    // No error queue impact.
    return ssl != NULL ? SSL_is_init_finished(ssl) : 0;
}

int32_t FastSessionNative_SslGetShutdown(SSL* ssl)
{
    // No error queue impact.
    return ssl != NULL ? SSL_get_shutdown(ssl) : 0;
}

int32_t FastSessionNative_SslGet0AlpnSelected(SSL* ssl, uint8_t* buf, int32_t cap)
{
    // No error queue impact.
    if (ssl == NULL)
        return 0;

    const unsigned char* data = NULL;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl, &data, &len);
    if (data == NULL || len == 0)
        return 0;
    if (buf == NULL || cap < (int32_t)len)
        return FS_ERR_BUFFER_TOO_SMALL;
    memcpy(buf, data, len);
    return (int32_t)len;
}
