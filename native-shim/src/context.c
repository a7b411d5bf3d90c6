/*
 * context.c — SSL_CTX creation and configuration, the context id, ALPN and the session cache.
 */
#include "fs_internal.h"

#include <limits.h>
#include <stdatomic.h>
#include <string.h>

#include <openssl/pem.h>

/* Process-wide context id counter: ids are never reused and never addresses. */
static _Atomic uint64_t g_next_ctx_id;

/* The session id context every shim server uses (sessions are only resumed by shim servers). */
static const unsigned char k_session_id_context[] = "fastsession";

fs_ctx_data* fastsession_ctx_get_data(const SSL_CTX* ctx)
{
    if (ctx == NULL || fastsession_idx.ctx_data < 0)
        return NULL;
    return SSL_CTX_get_ex_data(ctx, fastsession_idx.ctx_data);
}

uint64_t fastsession_ctx_id(const SSL_CTX* ctx)
{
    fs_ctx_data* data = fastsession_ctx_get_data(ctx);
    return data != NULL ? data->id : 0;
}

static int is_valid_version(int32_t v)
{
    return v == 0 || v == FS_TLS1_2 || v == FS_TLS1_3;
}

/* Checks ALPN wire format: non-empty, a sequence of (len > 0, len bytes). */
static int is_valid_alpn_wire(const uint8_t* wire, int32_t len)
{
    if (wire == NULL || len <= 0)
        return 0;
    int32_t i = 0;
    while (i < len)
    {
        int32_t n = wire[i];
        if (n == 0 || n > len - i - 1)
            return 0;
        i += n + 1;
    }
    return 1;
}

static int alpn_select_cb(SSL* ssl, const unsigned char** out, unsigned char* outlen,
    const unsigned char* in, unsigned int inlen, void* arg)
{
    (void)arg;
    fs_ctx_data* data = fastsession_ctx_get_data(SSL_get_SSL_CTX(ssl));
    if (data == NULL || data->alpn == NULL)
        return SSL_TLSEXT_ERR_NOACK;

    unsigned char* selected = NULL;
    unsigned char selected_len = 0;
    // Server preference: SSL_select_next_proto walks its first list and looks each up in the second.
    if (SSL_select_next_proto(&selected, &selected_len, data->alpn, data->alpn_len, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;

    *out = selected;
    *outlen = selected_len;
    return SSL_TLSEXT_ERR_OK;
}

/* Acknowledges any server name. Without a servername callback OpenSSL does not acknowledge SNI,
 * and then neither side records it in the session (TLS 1.2: SSL_SESSION_get0_hostname = NULL). */
static int sni_accept_cb(SSL* ssl, int* alert, void* arg)
{
    (void)alert;
    (void)arg;
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    // A name registered with its own certificate switches the connection to that context (server.c);
    // any other name keeps the default certificate.
    (void)fastsession_sni_select(ssl, name);
    return SSL_TLSEXT_ERR_OK;
}

SSL_CTX* FastSessionNative_SslCtxCreate(const fs_ctx_options* options, uint64_t* ctx_id)
{
    ERR_clear_error();

    if (ctx_id != NULL)
        *ctx_id = 0;

    if (options == NULL)
    {
        fastsession_raise_argument("options is NULL");
        return NULL;
    }
    if (!is_valid_version(options->min_version) || !is_valid_version(options->max_version) ||
        options->num_tickets < -1 || options->session_cache_size < 0 ||
        options->session_timeout_seconds < 0 || options->session_timeout_seconds > LONG_MAX)
    {
        fastsession_raise_argument("invalid fs_ctx_options value");
        return NULL;
    }

    if (!fastsession_init())
        return NULL;

    int is_server = options->is_server != 0;
    SSL_CTX* ctx = SSL_CTX_new(is_server ? TLS_server_method() : TLS_client_method());
    if (ctx == NULL)
        return NULL;

    fs_ctx_data* data = OPENSSL_zalloc(sizeof(*data));
    if (data == NULL || !SSL_CTX_set_ex_data(ctx, fastsession_idx.ctx_data, data))
    {
        OPENSSL_free(data);
        goto fail;
    }
    data->is_server = is_server;

    int min_version = options->min_version != 0 ? options->min_version : FS_TLS1_2;
    int max_version = options->max_version != 0 ? options->max_version : FS_TLS1_3;
    if (!SSL_CTX_set_min_proto_version(ctx, min_version) || !SSL_CTX_set_max_proto_version(ctx, max_version))
        goto fail;

    // Managed buffers may move between a retried write and the next one.
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

    if (!options->tickets_enabled)
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);

    if (options->session_cache_size > 0)
        SSL_CTX_sess_set_cache_size(ctx, options->session_cache_size);
    if (options->session_timeout_seconds > 0)
        SSL_CTX_set_timeout(ctx, (long)options->session_timeout_seconds);

    if (is_server)
    {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        if (!SSL_CTX_set_session_id_context(ctx, k_session_id_context, sizeof(k_session_id_context) - 1))
            goto fail;
        SSL_CTX_set_tlsext_servername_callback(ctx, sni_accept_cb);
        if (options->num_tickets >= 0 && !SSL_CTX_set_num_tickets(ctx, (size_t)options->num_tickets))
            goto fail;
        if (!fastsession_observe_install(ctx)) // observe: ticket decrypt outcomes, tickets sent
            goto fail;
    }
    else
    {
        if (options->capture_new_sessions)
            SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        if (options->verify_peer)
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }

    if (options->capture_new_sessions)
        SSL_CTX_sess_set_new_cb(ctx, fastsession_new_session_cb);

    data->id = atomic_fetch_add_explicit(&g_next_ctx_id, 1, memory_order_relaxed) + 1;
    if (ctx_id != NULL)
        *ctx_id = data->id;
    return ctx;

fail:
    if (ERR_peek_error() == 0)
        ERR_raise(ERR_LIB_SSL, ERR_R_INTERNAL_ERROR);
    SSL_CTX_free(ctx);
    return NULL;
}

void FastSessionNative_SslCtxFree(SSL_CTX* ctx)
{
    // Through the session-owner guard (fs_internal.h): a session set_time may be following this
    // context's pointer from its cache (issue #10 item 3).
    fastsession_ctx_free_guarded(ctx);
}

uint64_t FastSessionNative_SslCtxGetId(const SSL_CTX* ctx)
{
    // No error queue impact.
    return fastsession_ctx_id(ctx);
}

/* Installs the first certificate of the PEM text as the leaf and the rest as its chain, like
 * SSL_CTX_use_certificate_chain_file. */
static int use_certificate_chain(SSL_CTX* ctx, BIO* bio)
{
    X509* leaf = PEM_read_bio_X509_AUX(bio, NULL, fastsession_no_passphrase, NULL);
    if (leaf == NULL)
        return 0;
    int ok = SSL_CTX_use_certificate(ctx, leaf);
    X509_free(leaf);
    if (!ok || !SSL_CTX_clear_chain_certs(ctx))
        return 0;

    X509* ca;
    while ((ca = PEM_read_bio_X509(bio, NULL, fastsession_no_passphrase, NULL)) != NULL)
    {
        if (!SSL_CTX_add0_chain_cert(ctx, ca))
        {
            X509_free(ca);
            return 0;
        }
    }

    // The loop ends on "no start line" at the end of the text; anything else is an error.
    unsigned long err = ERR_peek_last_error();
    if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)
    {
        ERR_clear_error();
        return 1;
    }
    return 0;
}

int32_t FastSessionNative_SslCtxUseCertificateAndKeyPem(SSL_CTX* ctx,
    const uint8_t* cert_pem, int32_t cert_len, const uint8_t* key_pem, int32_t key_len)
{
    ERR_clear_error();

    if (ctx == NULL || cert_pem == NULL || cert_len <= 0 || key_pem == NULL || key_len <= 0)
    {
        fastsession_raise_argument("certificate or key PEM missing");
        return FS_ERR_ARGUMENT;
    }

    int32_t rc = FS_ERR_OPENSSL;
    BIO* cert_bio = BIO_new_mem_buf(cert_pem, cert_len);
    BIO* key_bio = BIO_new_mem_buf(key_pem, key_len);
    EVP_PKEY* key = NULL;
    if (cert_bio == NULL || key_bio == NULL)
        goto done;

    if (!use_certificate_chain(ctx, cert_bio))
        goto done;

    key = PEM_read_bio_PrivateKey(key_bio, NULL, fastsession_no_passphrase, NULL);
    if (key == NULL || !SSL_CTX_use_PrivateKey(ctx, key) || !SSL_CTX_check_private_key(ctx))
        goto done;

    rc = FS_OK;

done:
    EVP_PKEY_free(key);
    BIO_free(cert_bio);
    BIO_free(key_bio);
    return rc;
}

int32_t FastSessionNative_SslCtxGetCertificatePem(SSL_CTX* ctx, uint8_t* buf, int32_t cap, int32_t* needed)
{
    ERR_clear_error();

    if (needed != NULL)
        *needed = 0;

    X509* cert = ctx != NULL ? SSL_CTX_get0_certificate(ctx) : NULL;
    if (cert == NULL)
    {
        fastsession_raise_argument("the context has no certificate");
        return FS_ERR_ARGUMENT;
    }

    BIO* bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return FS_ERR_OPENSSL;

    int32_t rc = PEM_write_bio_X509(bio, cert) ? fastsession_copy_mem_bio(bio, buf, cap, needed) : FS_ERR_OPENSSL;
    BIO_free(bio);
    return rc;
}

int32_t FastSessionNative_SslCtxAddTrustedCertificatePem(SSL_CTX* ctx, const uint8_t* pem, int32_t len)
{
    ERR_clear_error();

    if (ctx == NULL || pem == NULL || len <= 0)
    {
        fastsession_raise_argument("trusted certificate PEM missing");
        return FS_ERR_ARGUMENT;
    }

    BIO* bio = BIO_new_mem_buf(pem, len);
    if (bio == NULL)
        return FS_ERR_OPENSSL;

    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    int added = 0;
    int failed = 0;
    X509* cert;
    while ((cert = PEM_read_bio_X509(bio, NULL, fastsession_no_passphrase, NULL)) != NULL)
    {
        // X509_STORE_add_cert takes its own reference.
        if (!X509_STORE_add_cert(store, cert))
            failed = 1;
        X509_free(cert);
        if (failed)
            break;
        added++;
    }
    BIO_free(bio);

    if (failed)
        return FS_ERR_OPENSSL;

    unsigned long err = ERR_peek_last_error();
    if (added > 0 && ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE)
    {
        ERR_clear_error();
        return FS_OK;
    }
    if (ERR_peek_error() == 0)
        ERR_raise(ERR_LIB_PEM, PEM_R_NO_START_LINE);
    return FS_ERR_OPENSSL;
}

int32_t FastSessionNative_SslCtxSetAlpnProtos(SSL_CTX* ctx, const uint8_t* wire, int32_t len)
{
    ERR_clear_error();

    fs_ctx_data* data = fastsession_ctx_get_data(ctx);
    if (ctx == NULL || (len != 0 && !is_valid_alpn_wire(wire, len)) || len < 0)
    {
        fastsession_raise_argument("invalid ALPN protocol list (wire format expected)");
        return FS_ERR_ARGUMENT;
    }

    int is_server = data != NULL ? data->is_server : SSL_CTX_get_ssl_method(ctx) == TLS_server_method();
    if (!is_server)
    {
        // SSL_CTX_set_alpn_protos returns 0 on success.
        return SSL_CTX_set_alpn_protos(ctx, len > 0 ? wire : NULL, (unsigned int)len) == 0 ? FS_OK : FS_ERR_OPENSSL;
    }

    if (data == NULL)
    {
        fastsession_raise_argument("server ALPN needs a context made by FastSessionNative_SslCtxCreate");
        return FS_ERR_ARGUMENT;
    }

    unsigned char* copy = NULL;
    if (len > 0)
    {
        copy = OPENSSL_memdup(wire, (size_t)len);
        if (copy == NULL)
            return FS_ERR_OPENSSL;
    }
    OPENSSL_free(data->alpn);
    data->alpn = copy;
    data->alpn_len = (unsigned int)len;
    SSL_CTX_set_alpn_select_cb(ctx, copy != NULL ? alpn_select_cb : NULL, NULL);
    return FS_OK;
}

void FastSessionNative_SslCtxFlushSessions(SSL_CTX* ctx, int64_t time)
{
    // No error queue impact.
    // Shared owner guard: never between a set_time's unlocked owner read and its relink (fs_internal.h).
    if (ctx == NULL || !fastsession_owner_guard_enter_shared())
        return;
    SSL_CTX_flush_sessions(ctx, (long)time);
    fastsession_owner_guard_exit();
}

int64_t FastSessionNative_SslCtxSessNumber(SSL_CTX* ctx)
{
    // No error queue impact.
    return ctx != NULL ? (int64_t)SSL_CTX_sess_number(ctx) : 0;
}

int32_t FastSessionNative_SslCtxAddSession(SSL_CTX* ctx, SSL_SESSION* session)
{
    ERR_clear_error();

    if (ctx == NULL || session == NULL)
        return 0;
    // One SSL_SESSION, one SSL_CTX: never link another context's session into this cache. A session
    // linked in one list and added to a second is unlinked with the second's sentinels: the first
    // list keeps it as its tail and a flush of the first never ends (ssl_sess.c, SSL_SESSION_list_add).
    uint64_t id = fastsession_ctx_id(ctx);
    uint64_t bound = fastsession_session_ctx_id(session);
    if (bound != 0 && bound != id)
        return FS_ERR_WRONG_CONTEXT;
    // Adding may evict (unlink) another cached session: shared owner guard, as for a flush. Marking
    // under it orders the mark before any SetTime that could see this session linked (fs_internal.h).
    if (!fastsession_owner_guard_enter_shared())
        return 0;
    uint64_t cache = fastsession_session_cache_ctx(session);
    if (cache != 0 && cache != (id != 0 ? id : UINT64_MAX))
    {
        fastsession_owner_guard_exit();
        return FS_ERR_WRONG_CONTEXT;
    }
    fastsession_session_mark_cached(session, id);
    int added = SSL_CTX_add_session(ctx, session) ? 1 : 0;
    fastsession_owner_guard_exit();
    return added;
}

int32_t FastSessionNative_SslCtxRemoveSession(SSL_CTX* ctx, SSL_SESSION* session)
{
    ERR_clear_error();

    if (ctx == NULL || session == NULL)
        return 0;
    // Unlinks: shared owner guard, as for a flush.
    if (!fastsession_owner_guard_enter_shared())
        return 0;
    int removed = SSL_CTX_remove_session(ctx, session) ? 1 : 0;
    fastsession_owner_guard_exit();
    return removed;
}
