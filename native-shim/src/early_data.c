/*
 * early_data.c — TLS 1.3 early data (0-RTT): SSL_write_early_data / SSL_read_early_data as batched
 * engine steps, SSL_get_early_data_status with what is needed to explain a rejection, the limits
 * (SSL_CTX_set_max_early_data, SSL_CTX_set_recv_max_early_data), and the server's decision
 * (SSL_CTX_set_allow_early_data_cb) made outside OpenSSL.
 *
 * OpenSSL asks the allow-early-data callback synchronously while it parses the ClientHello's
 * extensions; a managed policy or a network store (the fleet's replay record) must not run there.
 * So, as server_cache.c does for session lookups, the decision is taken one step earlier: with
 * FS_EARLY_DATA_DECIDE the client-hello callback records whether early data is offered and a SHA-256
 * of the first PSK identity (the ticket), and returns SSL_CLIENT_HELLO_RETRY: the engine call ends
 * with SSL_ERROR_WANT_CLIENT_HELLO_CB. Managed code decides (FastSessionNative_SslSetEarlyDataDecision)
 * and calls the engine again; the client-hello callback lets the handshake go on, and the
 * allow-early-data callback returns the recorded answer. A context uses either this pause or
 * server_cache.c's (one client-hello callback per SSL_CTX); the managed layer refuses both at once.
 *
 * Replay: without FS_EARLY_DATA_NO_ANTI_REPLAY OpenSSL's own anti-replay is on: tickets that allow
 * early data are stateful (kept in this SSL_CTX's cache) and single use, so a second use of one in
 * this process is a full handshake. With it (for a fleet sharing ticket keys) tickets are stateless
 * and the caller must refuse a second use itself, before allowing (the identity hash is its key).
 */
#include "fs_internal.h"

#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

_Static_assert(FS_EARLY_DATA_NOT_SENT == SSL_EARLY_DATA_NOT_SENT && FS_EARLY_DATA_REJECTED == SSL_EARLY_DATA_REJECTED &&
    FS_EARLY_DATA_ACCEPTED == SSL_EARLY_DATA_ACCEPTED, "FS_EARLY_DATA_*");
_Static_assert(FS_READ_EARLY_DATA_ERROR == SSL_READ_EARLY_DATA_ERROR && FS_READ_EARLY_DATA_SUCCESS == SSL_READ_EARLY_DATA_SUCCESS &&
    FS_READ_EARLY_DATA_FINISH == SSL_READ_EARLY_DATA_FINISH, "FS_READ_EARLY_DATA_*");
_Static_assert(sizeof(fs_early_data_info) == 72, "sizeof(fs_early_data_info)");

static int32_t clamp_written(size_t n)
{
    return n > INT32_MAX ? INT32_MAX : (int32_t)n;
}

void fastsession_early_data_clear(fs_conn_data* conn)
{
    if (conn != NULL)
        memset(&conn->early, 0, sizeof(conn->early));
}

/* The first PSK identity of a pre_shared_key extension (RFC 8446 4.2.11), or 0. */
static int first_identity(const unsigned char* ext, size_t len, const unsigned char** id, size_t* id_len)
{
    if (len < 4)
        return 0;
    size_t identities = ((size_t)ext[0] << 8) | ext[1];
    size_t first = ((size_t)ext[2] << 8) | ext[3];
    if (identities + 2 > len || first == 0 || first + 2 + 4 > identities)
        return 0;
    *id = ext + 4;
    *id_len = first;
    return 1;
}

/* First call: record and pause. Answered (also for a second ClientHello after HelloRetryRequest, which
 * never carries early data), or nothing offered: go on. */
static int early_client_hello_cb(SSL* ssl, int* alert, void* arg)
{
    (void)alert;
    (void)arg;
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (conn == NULL)
        return SSL_CLIENT_HELLO_SUCCESS;
    if (conn->early.decision == FS_EARLY_DECISION_PENDING)
        return SSL_CLIENT_HELLO_RETRY; // called again before an answer: still waiting
    if (conn->early.decision != FS_EARLY_DECISION_NONE)
        return SSL_CLIENT_HELLO_SUCCESS;

    const unsigned char* ext = NULL;
    size_t len = 0;
    if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_early_data, &ext, &len))
    {
        conn->early.decision = FS_EARLY_DECISION_NOT_OFFERED;
        return SSL_CLIENT_HELLO_SUCCESS;
    }
    conn->early.offered = 1;
    const unsigned char* id = NULL;
    size_t id_len = 0;
    unsigned int hash_len = 0;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_psk, &ext, &len) && first_identity(ext, len, &id, &id_len) &&
        EVP_Digest(id, id_len, conn->early.identity_hash, &hash_len, EVP_sha256(), NULL) && hash_len == FS_EARLY_IDENTITY_HASH)
        conn->early.identity_len = FS_EARLY_IDENTITY_HASH;
    else
        ERR_clear_error(); // early data without a ticket cannot be accepted anyway; not this handshake's error
    conn->early.decision = FS_EARLY_DECISION_PENDING;
    return SSL_CLIENT_HELLO_RETRY;
}

/* OpenSSL's last word on a resumed ClientHello with early data: returns what was decided outside it.
 * Without FS_EARLY_DATA_DECIDE (arg) OpenSSL's own checks stand. */
static int allow_early_data_cb(SSL* ssl, void* arg)
{
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (conn == NULL)
        return 0;
    conn->early.allow_cb_ran = 1;
    if (((int32_t)(intptr_t)arg & FS_EARLY_DATA_DECIDE) == 0)
        return 1;
    return conn->early.decision == FS_EARLY_DECISION_ALLOW;
}

/*
 * Shims SSL_CTX_set_max_early_data (server: the limit its tickets advertise; 0 turns early data off)
 * and SSL_CTX_set_recv_max_early_data (what the server reads). Servers also get
 * SSL_CTX_set_allow_early_data_cb, the client-hello pause (FS_EARLY_DATA_DECIDE) and SSL_OP_NO_ANTI_REPLAY
 * (FS_EARLY_DATA_NO_ANTI_REPLAY). Returns FS_OK, FS_ERR_ARGUMENT or FS_ERR_OPENSSL.
 */
int32_t FastSessionNative_SslCtxSetEarlyData(SSL_CTX* ctx, uint32_t max_early_data, uint32_t recv_max_early_data, int32_t flags)
{
    ERR_clear_error();

    fs_ctx_data* data = fastsession_ctx_get_data(ctx);
    if (data == NULL || (flags & ~(FS_EARLY_DATA_DECIDE | FS_EARLY_DATA_NO_ANTI_REPLAY)) != 0 ||
        (!data->is_server && flags != 0))
    {
        fastsession_raise_argument("a FastSession context and FS_EARLY_DATA_* flags (servers only) expected");
        return FS_ERR_ARGUMENT;
    }
    if (!SSL_CTX_set_max_early_data(ctx, max_early_data) || !SSL_CTX_set_recv_max_early_data(ctx, recv_max_early_data))
        return FS_ERR_OPENSSL;
    if (!data->is_server)
        return FS_OK;

    if (flags & FS_EARLY_DATA_NO_ANTI_REPLAY)
        SSL_CTX_set_options(ctx, SSL_OP_NO_ANTI_REPLAY);
    else
        SSL_CTX_clear_options(ctx, SSL_OP_NO_ANTI_REPLAY);
    SSL_CTX_set_allow_early_data_cb(ctx, allow_early_data_cb, (void*)(intptr_t)flags);
    if (flags & FS_EARLY_DATA_DECIDE)
        SSL_CTX_set_client_hello_cb(ctx, early_client_hello_cb, NULL);
    return FS_OK;
}

/*
 * Client: shims SSL_write_early_data, which first writes the ClientHello, so the data leaves in the
 * same flight. Server, after SSL_read_early_data accepted early data and before the handshake completes:
 * writes all of `plain` as 0.5-RTT data (after the server's Finished, before the client's). Writes at most what the session still allows (SSL_SESSION_get_max_early_data minus what
 * was written); a session that allows none (or no resumable session) sends nothing and returns 0.
 * Returns 1 when bytes were accepted (result->plaintext_bytes), 0, or FS_ERR_ARGUMENT.
 */
int32_t FastSessionNative_SslWriteEarlyData(SSL* ssl, const uint8_t* plain, int32_t plain_len,
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
        return FS_ERR_ARGUMENT;
    }
    if (!fastsession_io_begin(ssl, NULL, 0, result))
        return result->ret;

    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    SSL_SESSION* session = SSL_get0_session(ssl);
    uint32_t allowed = session != NULL && SSL_SESSION_is_resumable(session) &&
        SSL_SESSION_get_protocol_version(session) == TLS1_3_VERSION ? SSL_SESSION_get_max_early_data(session) : 0;
    uint32_t already = conn != NULL ? (uint32_t)conn->early.offered : 0;
    if (SSL_is_server(ssl) && plain_len > 0 && !SSL_is_init_finished(ssl))
    {
        // 0.5-RTT: a server that accepted early data answers before the client's Finished. OpenSSL
        // allows it between the first SSL_read_early_data and the end of the handshake.
        size_t sent = 0;
        int wret = SSL_write_early_data(ssl, plain, (size_t)plain_len, &sent);
        int werr = wret > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, wret);
        result->plaintext_bytes = clamp_written(sent);
        fastsession_io_end(ssl, wret, werr, out, out_cap, result);
        return wret > 0 ? 1 : result->ret;
    }
    if (SSL_is_server(ssl) || allowed <= already || plain_len == 0 || SSL_is_init_finished(ssl))
    {
        fastsession_io_end(ssl, 1, SSL_ERROR_NONE, out, out_cap, result);
        return 0;
    }
    size_t want = (size_t)plain_len;
    if (want > allowed - already)
        want = allowed - already;
    size_t written = 0;
    int ret = SSL_write_early_data(ssl, plain, want, &written);
    int err = ret > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl, ret);
    result->plaintext_bytes = clamp_written(written);
    if (conn != NULL && ret > 0)
        conn->early.offered += result->plaintext_bytes;
    fastsession_io_end(ssl, ret, err, out, out_cap, result);
    return ret > 0 ? 1 : result->ret;
}

/*
 * Server: shims SSL_read_early_data, called instead of SSL_do_handshake until it returns
 * SSL_READ_EARLY_DATA_FINISH (then SSL_do_handshake finishes the handshake). Feeds `in`, reads records
 * of early data until `plain` is full or the input is used up. Returns FS_READ_EARLY_DATA_SUCCESS (data
 * in result->plaintext_bytes), _FINISH (no more early data; data may still have been read first), or
 * _ERROR with result->ssl_error (WANT_READ: feed more; WANT_CLIENT_HELLO_CB: decide, then call again).
 */
int32_t FastSessionNative_SslReadEarlyData(SSL* ssl, const uint8_t* in, int32_t in_len,
    uint8_t* plain, int32_t plain_cap, uint8_t* out, int32_t out_cap, fs_io_result* result)
{
    ERR_clear_error();

    if (result == NULL)
        return FS_ERR_ARGUMENT;
    if (plain_cap <= 0 || plain == NULL)
    {
        memset(result, 0, sizeof(*result));
        fastsession_raise_argument("early data needs a plaintext buffer");
        result->ret = FS_ERR_ARGUMENT;
        result->ssl_error = FS_SSL_ERROR_SSL;
        result->error_code = ERR_peek_last_error();
        return FS_ERR_ARGUMENT;
    }
    if (!fastsession_io_begin(ssl, in, in_len, result))
        return result->ret;

    size_t total = 0;
    int status;
    int err = SSL_ERROR_NONE;
    BIO* rbio = SSL_get_rbio(ssl);
    for (;;)
    {
        size_t n = 0;
        status = SSL_read_early_data(ssl, plain + total, (size_t)plain_cap - total, &n);
        if (status == SSL_READ_EARLY_DATA_ERROR)
        {
            err = SSL_get_error(ssl, 0);
            break;
        }
        total += n;
        if (status == SSL_READ_EARLY_DATA_FINISH || total == (size_t)plain_cap || BIO_ctrl_pending(rbio) == 0)
            break;
    }
    result->plaintext_bytes = clamp_written(total);
    if (total > 0 && err == SSL_ERROR_WANT_READ)
    {
        // Data followed by "need more input" is a plain success.
        status = SSL_READ_EARLY_DATA_SUCCESS;
        err = SSL_ERROR_NONE;
    }
    fastsession_io_end(ssl, status == SSL_READ_EARLY_DATA_ERROR ? 0 : 1, err, out, out_cap, result);
    return status;
}

/* Fills *info (see fs_early_data_info). Returns FS_OK or FS_ERR_ARGUMENT. No error queue impact. */
int32_t FastSessionNative_SslGetEarlyDataInfo(SSL* ssl, fs_early_data_info* info)
{
    if (info == NULL)
        return FS_ERR_ARGUMENT;
    memset(info, 0, sizeof(*info));
    if (ssl == NULL)
        return FS_ERR_ARGUMENT;
    info->status = SSL_get_early_data_status(ssl);
    SSL_SESSION* session = SSL_get0_session(ssl);
    if (session != NULL)
    {
        info->session_max_early_data = SSL_SESSION_get_max_early_data(session);
        info->has_session = SSL_SESSION_is_resumable(session);
    }
    info->reused = SSL_session_reused(ssl);
    info->max_early_data = (int32_t)(SSL_get_max_early_data(ssl) > INT32_MAX ? INT32_MAX : SSL_get_max_early_data(ssl));
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (conn != NULL)
    {
        info->offered = conn->early.offered;
        info->allow_cb_ran = conn->early.allow_cb_ran;
        info->decision = conn->early.decision;
        info->deny_reason = conn->early.deny_reason;
        info->identity_len = conn->early.identity_len;
        memcpy(info->identity_hash, conn->early.identity_hash, sizeof(info->identity_hash));
    }
    return FS_OK;
}

/* Answers the pending decision (FS_EARLY_DECISION_PENDING): allow != 0 lets the allow-early-data
 * callback accept (OpenSSL's own checks still apply), 0 rejects with `reason` recorded for the
 * caller. Returns FS_OK, or FS_ERR_ARGUMENT when nothing is pending. */
int32_t FastSessionNative_SslSetEarlyDataDecision(SSL* ssl, int32_t allow, int32_t reason)
{
    ERR_clear_error();

    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (conn == NULL || conn->early.decision != FS_EARLY_DECISION_PENDING)
    {
        fastsession_raise_argument("no early-data decision is pending on this connection");
        return FS_ERR_ARGUMENT;
    }
    conn->early.decision = allow ? FS_EARLY_DECISION_ALLOW : FS_EARLY_DECISION_DENY;
    conn->early.deny_reason = allow ? 0 : reason;
    return FS_OK;
}

/* sizeof(fs_early_data_info). No error queue impact. */
int32_t FastSessionNative_GetEarlyDataInfoSize(void)
{
    return (int32_t)sizeof(fs_early_data_info);
}
