/*
 * session.c — SSL_SESSION: get0/get1, the context binding, the batched info snapshot and the
 * DER / PEM / text encodings.
 */
#include "fs_internal.h"

#include <limits.h>
#include <string.h>

#include <openssl/pem.h>

/* ---- The session-owner guard (see fs_internal.h) ------------------------------------------ */

static CRYPTO_RWLOCK* g_owner_guard;

int fastsession_owner_guard_init(void)
{
    g_owner_guard = CRYPTO_THREAD_lock_new();
    return g_owner_guard != NULL;
}

void fastsession_ctx_free_guarded(SSL_CTX* ctx)
{
    // Shared: frees run concurrently with each other, never with an owner-following call.
    if (g_owner_guard == NULL || !CRYPTO_THREAD_read_lock(g_owner_guard))
    {
        SSL_CTX_free(ctx); // the shim never initialized: no session of ours can be in a cache
        return;
    }
    SSL_CTX_free(ctx);
    CRYPTO_THREAD_unlock(g_owner_guard);
}

void fastsession_ssl_free_guarded(SSL* ssl)
{
    if (g_owner_guard == NULL || !CRYPTO_THREAD_read_lock(g_owner_guard))
    {
        SSL_free(ssl);
        return;
    }
    SSL_free(ssl); // may drop the last reference to its SSL_CTX
    CRYPTO_THREAD_unlock(g_owner_guard);
}

/* Runs set_time / set_timeout with no SSL_CTX final free in flight. Returns 0 when the guard cannot
 * be taken (the caller reports failure; it never calls OpenSSL unguarded). */
static int owner_guard_enter(void)
{
    if (!fastsession_init())
        return 0;
    return CRYPTO_THREAD_write_lock(g_owner_guard);
}

int fastsession_owner_guard_enter_shared(void)
{
    if (!fastsession_init())
        return 0;
    return CRYPTO_THREAD_read_lock(g_owner_guard);
}

void fastsession_owner_guard_exit(void)
{
    CRYPTO_THREAD_unlock(g_owner_guard);
}

uint64_t fastsession_session_ctx_id(const SSL_SESSION* session)
{
    if (session == NULL || fastsession_idx.session_ctx_id < 0)
        return 0;
    return (uint64_t)(uintptr_t)SSL_SESSION_get_ex_data(session, fastsession_idx.session_ctx_id);
}

int32_t fastsession_session_bind(SSL_SESSION* session, uint64_t ctx_id)
{
    uint64_t bound = fastsession_session_ctx_id(session);
    if (bound == ctx_id)
        return FS_OK;
    if (bound != 0)
        return FS_ERR_WRONG_CONTEXT;
    // Every session created after fastsession_init has its ex_data sized past this slot (accounting.c),
    // so this store neither allocates nor touches the error queue.
    return SSL_SESSION_set_ex_data(session, fastsession_idx.session_ctx_id, (void*)(uintptr_t)ctx_id)
        ? FS_OK : FS_ERR_OPENSSL;
}

uint64_t fastsession_session_cache_ctx(const SSL_SESSION* session)
{
    if (session == NULL || fastsession_idx.session_cache < 0)
        return 0;
    return (uint64_t)(uintptr_t)SSL_SESSION_get_ex_data(session, fastsession_idx.session_cache);
}

void fastsession_session_mark_cached(SSL_SESSION* session, uint64_t ctx_id)
{
    if (session == NULL || fastsession_idx.session_cache < 0)
        return;
    // A context without shim data (id 0) still marks: any non-zero value refuses set_time.
    uint64_t mark = ctx_id != 0 ? ctx_id : UINT64_MAX;
    // Preallocated slot (accounting.c registers this index before the counting ones): a plain store.
    (void)SSL_SESSION_set_ex_data(session, fastsession_idx.session_cache, (void*)(uintptr_t)mark);
}

void fastsession_mark_server_session(SSL* ssl)
{
    // No error queue impact. Runs before the engine call returns, so before any other thread can
    // borrow or acquire this session from the connection; a session another server connection finds
    // in the cache is marked by that connection's call the same way before it is handed out.
    if (ssl == NULL || !SSL_is_server(ssl))
        return;
    SSL_SESSION* session = SSL_get0_session(ssl);
    if (session != NULL && fastsession_session_cache_ctx(session) == 0)
        fastsession_session_mark_cached(session, fastsession_ctx_id(SSL_get_SSL_CTX(ssl)));
}

SSL_SESSION* FastSessionNative_SslGet0Session(const SSL* ssl)
{
    // No error queue impact.
    return ssl != NULL ? SSL_get0_session(ssl) : NULL;
}

SSL_SESSION* FastSessionNative_SslGet1Session(SSL* ssl)
{
    // No error queue impact: SSL_get1_session only fails as "no session" (NULL), and the stamp below
    // stores into a preallocated ex_data slot. Skipping ERR_clear_error here is measured, not cosmetic:
    // it was ~160 of the ~200 ns this call took (bench/native, get1_free_shim vs get1_free_direct).
    if (ssl == NULL)
        return NULL;

    SSL_SESSION* session = SSL_get1_session(ssl);
    if (session != NULL && fastsession_session_ctx_id(session) == 0)
    {
        uint64_t id = fastsession_ctx_id(SSL_get_SSL_CTX(ssl));
        if (id != 0)
            (void)fastsession_session_bind(session, id);
    }
    return session;
}

int32_t FastSessionNative_SslSessionUpRef(SSL_SESSION* session)
{
    return session != NULL && SSL_SESSION_up_ref(session) ? 1 : 0;
}

void FastSessionNative_SslSessionFree(SSL_SESSION* session)
{
    SSL_SESSION_free(session);
}

int32_t FastSessionNative_SslSetSession(SSL* ssl, SSL_SESSION* session)
{
    ERR_clear_error();

    if (ssl == NULL || session == NULL)
    {
        fastsession_raise_argument("ssl or session is NULL");
        return FS_ERR_ARGUMENT;
    }

    uint64_t ctx_id = fastsession_ctx_id(SSL_get_SSL_CTX(ssl));
    uint64_t bound = fastsession_session_ctx_id(session);
    if (bound != 0 && bound != ctx_id)
    {
        ERR_raise_data(ERR_LIB_SSL, ERR_R_PASSED_INVALID_ARGUMENT,
            "session belongs to FastSession context %llu, connection to %llu",
            (unsigned long long)bound, (unsigned long long)ctx_id);
        return FS_ERR_WRONG_CONTEXT;
    }
    if (!SSL_SESSION_is_resumable(session))
    {
        ERR_raise_data(ERR_LIB_SSL, ERR_R_PASSED_INVALID_ARGUMENT, "session is not resumable");
        return FS_ERR_NOT_RESUMABLE;
    }

    if (bound == 0 && ctx_id != 0)
    {
        int32_t rc = fastsession_session_bind(session, ctx_id);
        if (rc != FS_OK)
            return rc;
    }

    // SSL_set_session takes its own reference.
    return SSL_set_session(ssl, session) ? FS_OK : FS_ERR_OPENSSL;
}

int32_t FastSessionNative_SslSessionIsResumable(const SSL_SESSION* session)
{
    // No error queue impact.
    return session != NULL ? SSL_SESSION_is_resumable(session) : 0;
}

uint64_t FastSessionNative_SslSessionGetContextId(const SSL_SESSION* session)
{
    // No error queue impact.
    return fastsession_session_ctx_id(session);
}

int32_t FastSessionNative_SslSessionSetContextId(SSL_SESSION* session, uint64_t ctx_id)
{
    // No error queue impact.
    if (session == NULL || ctx_id == 0)
        return FS_ERR_ARGUMENT;
    return fastsession_session_bind(session, ctx_id);
}

static int32_t copy_bounded(void* dst, int32_t cap, const void* src, size_t len)
{
    size_t n = len < (size_t)cap ? len : (size_t)cap;
    if (n > 0)
        memcpy(dst, src, n);
    return (int32_t)n;
}

int32_t FastSessionNative_SslSessionGetInfo(const SSL_SESSION* session, fs_session_info* info)
{
    // No error queue impact.
    if (session == NULL || info == NULL)
        return FS_ERR_ARGUMENT;

    unsigned int id_len = 0;
    const unsigned char* id = SSL_SESSION_get_id(session, &id_len);
    info->id_length = copy_bounded(info->id, FS_SESSION_ID_MAX, id, id_len);

    info->protocol_version = SSL_SESSION_get_protocol_version(session);
    info->resumable = SSL_SESSION_is_resumable(session);
    info->time = SSL_SESSION_get_time(session);
    info->timeout = SSL_SESSION_get_timeout(session);
    unsigned long hint = SSL_SESSION_get_ticket_lifetime_hint(session);
    info->ticket_lifetime_hint = hint > UINT32_MAX ? UINT32_MAX : (uint32_t)hint;
    info->has_ticket = SSL_SESSION_has_ticket(session);
    info->max_early_data = SSL_SESSION_get_max_early_data(session);
    info->context_id = fastsession_session_ctx_id(session);

    // Strings are NUL-terminated when they leave room for it.
    const SSL_CIPHER* cipher = SSL_SESSION_get0_cipher(session);
    const char* cipher_name = cipher != NULL ? SSL_CIPHER_get_name(cipher) : NULL;
    info->cipher_id = cipher != NULL ? SSL_CIPHER_get_protocol_id(cipher) : 0;
    info->cipher_name_length = cipher_name != NULL
        ? copy_bounded(info->cipher_name, FS_CIPHER_NAME_MAX, cipher_name, strlen(cipher_name)) : 0;
    if (info->cipher_name_length < FS_CIPHER_NAME_MAX)
        info->cipher_name[info->cipher_name_length] = '\0';

    const char* sni = SSL_SESSION_get0_hostname(session);
    info->sni_length = sni != NULL ? copy_bounded(info->sni, FS_SNI_MAX, sni, strlen(sni)) : 0;
    if (info->sni_length < FS_SNI_MAX)
        info->sni[info->sni_length] = '\0';

    const unsigned char* alpn = NULL;
    size_t alpn_len = 0;
    SSL_SESSION_get0_alpn_selected(session, &alpn, &alpn_len);
    info->alpn_length = alpn != NULL ? copy_bounded(info->alpn, FS_ALPN_MAX, alpn, alpn_len) : 0;

    return FS_OK;
}

int32_t FastSessionNative_SslSessionGetProtocolVersion(const SSL_SESSION* session)
{
    // No error queue impact.
    return session != NULL ? SSL_SESSION_get_protocol_version(session) : 0;
}

int64_t FastSessionNative_SslSessionGetTime(const SSL_SESSION* session)
{
    // No error queue impact.
    return session != NULL ? (int64_t)SSL_SESSION_get_time(session) : 0;
}

int64_t FastSessionNative_SslSessionGetTimeout(const SSL_SESSION* session)
{
    // No error queue impact.
    return session != NULL ? (int64_t)SSL_SESSION_get_timeout(session) : 0;
}

int32_t FastSessionNative_SslSessionGetId(const SSL_SESSION* session, uint8_t* buf, int32_t cap)
{
    // No error queue impact.
    if (session == NULL)
        return 0;
    unsigned int len = 0;
    const unsigned char* id = SSL_SESSION_get_id(session, &len);
    if (len == 0)
        return 0;
    if (buf == NULL || cap < (int32_t)len)
        return FS_ERR_BUFFER_TOO_SMALL;
    memcpy(buf, id, len);
    return (int32_t)len;
}

int32_t FastSessionNative_SslSessionSetTime(SSL_SESSION* session, int64_t time)
{
    ERR_clear_error();

    if (session == NULL || time < 0 || time > LONG_MAX)
        return 0;
    // Exclusive guard: AddSession marks and links under its shared side, so the mark read here is
    // final for this call; an unmarked session has never been linked (s->owner is NULL), so
    // SSL_SESSION_set_time does not follow an owner (no context to lock, relink or find freed).
    if (!owner_guard_enter())
        return 0;
    if (fastsession_session_cache_ctx(session) != 0)
    {
        // In a cache, or maybe: set_time would read s->owner unlocked and relink the session after
        // whatever removal the engine made meanwhile (see fs_internal.h, the cache mark).
        CRYPTO_THREAD_unlock(g_owner_guard);
        return FS_ERR_SESSION_CACHED;
    }
    // SSL_SESSION_set_time returns the time it set (0 on failure): report 1 for success.
    (void)SSL_SESSION_set_time(session, (long)time);
    CRYPTO_THREAD_unlock(g_owner_guard);
    return 1;
}

int32_t FastSessionNative_SslSessionSetTimeout(SSL_SESSION* session, int64_t timeout)
{
    ERR_clear_error();

    if (session == NULL || timeout < 0 || timeout > LONG_MAX)
        return 0;
    // Follows the owner SSL_CTX like SSL_SESSION_set_time: same guard, same refusal.
    if (!owner_guard_enter())
        return 0;
    if (fastsession_session_cache_ctx(session) != 0)
    {
        CRYPTO_THREAD_unlock(g_owner_guard);
        return FS_ERR_SESSION_CACHED;
    }
    int ok = SSL_SESSION_set_timeout(session, (long)timeout) ? 1 : 0;
    CRYPTO_THREAD_unlock(g_owner_guard);
    return ok;
}

/* ---- Encodings ---------------------------------------------------------------------------- */

int32_t FastSessionNative_I2dSslSession(const SSL_SESSION* session, uint8_t* buf, int32_t cap, int32_t* needed)
{
    ERR_clear_error();

    if (needed != NULL)
        *needed = 0;
    if (session == NULL)
    {
        fastsession_raise_argument("session is NULL");
        return FS_ERR_ARGUMENT;
    }

    int32_t rc = fastsession_check_capacity(i2d_SSL_SESSION(session, NULL), buf, cap, needed);
    if (rc != FS_OK)
        return rc;

    unsigned char* p = buf;
    int len = i2d_SSL_SESSION(session, &p);
    return len > 0 ? len : FS_ERR_OPENSSL;
}

/* d2i that insists on consuming exactly len bytes, then binds the session to ctx_id. */
static SSL_SESSION* decode_exact(const unsigned char* der, long len, uint64_t ctx_id)
{
    const unsigned char* p = der;
    SSL_SESSION* session = d2i_SSL_SESSION(NULL, &p, len);
    if (session == NULL)
    {
        if (ERR_peek_error() == 0)
            ERR_raise(ERR_LIB_SSL, ERR_R_ASN1_LIB);
        return NULL;
    }
    if (p != der + len)
    {
        ERR_raise_data(ERR_LIB_ASN1, ASN1_R_TOO_LONG, "%ld trailing bytes after the SSL_SESSION",
            (long)(der + len - p));
        SSL_SESSION_free(session);
        return NULL;
    }
    if (ctx_id != 0 && fastsession_session_bind(session, ctx_id) != FS_OK)
    {
        ERR_raise(ERR_LIB_SSL, ERR_R_INTERNAL_ERROR);
        SSL_SESSION_free(session);
        return NULL;
    }
    return session;
}

SSL_SESSION* FastSessionNative_D2iSslSession(const uint8_t* der, int32_t len, uint64_t ctx_id)
{
    ERR_clear_error();

    if (der == NULL || len <= 0)
    {
        fastsession_raise_argument("DER input is NULL or empty");
        return NULL;
    }
    if (!fastsession_init())
        return NULL;

    return decode_exact(der, len, ctx_id);
}

int32_t FastSessionNative_PemWriteSslSession(const SSL_SESSION* session, uint8_t* buf, int32_t cap, int32_t* needed)
{
    ERR_clear_error();

    if (needed != NULL)
        *needed = 0;
    if (session == NULL)
    {
        fastsession_raise_argument("session is NULL");
        return FS_ERR_ARGUMENT;
    }

    BIO* bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return FS_ERR_OPENSSL;
    // PEM_write_bio_SSL_SESSION takes a non-const pointer but does not modify the session.
    int32_t rc = PEM_write_bio_SSL_SESSION(bio, (SSL_SESSION*)session)
        ? fastsession_copy_mem_bio(bio, buf, cap, needed) : FS_ERR_OPENSSL;
    BIO_free(bio);
    return rc;
}

SSL_SESSION* FastSessionNative_PemReadSslSession(const uint8_t* pem, int32_t len, uint64_t ctx_id)
{
    ERR_clear_error();

    if (pem == NULL || len <= 0)
    {
        fastsession_raise_argument("PEM input is NULL or empty");
        return NULL;
    }
    if (!fastsession_init())
        return NULL;

    BIO* bio = BIO_new_mem_buf(pem, len);
    if (bio == NULL)
        return NULL;

    // PEM_read_bio_SSL_SESSION would ignore bytes after the DER inside the PEM block: take the
    // first SSL SESSION PARAMETERS block's bytes (other blocks are skipped) and decode them with
    // the same exact-length d2i as FastSessionNative_D2iSslSession.
    unsigned char* der = NULL;
    long der_len = 0;
    SSL_SESSION* session = NULL;
    if (PEM_bytes_read_bio(&der, &der_len, NULL, PEM_STRING_SSL_SESSION, bio, fastsession_no_passphrase, NULL))
    {
        if (der_len <= 0)
            ERR_raise(ERR_LIB_PEM, PEM_R_BAD_BASE64_DECODE);
        else
            session = decode_exact(der, der_len, ctx_id);
    }
    OPENSSL_free(der);
    BIO_free(bio);

    if (session == NULL && ERR_peek_error() == 0)
        ERR_raise(ERR_LIB_PEM, PEM_R_NO_START_LINE);
    return session;
}

int32_t FastSessionNative_SslSessionPrint(const SSL_SESSION* session, uint8_t* buf, int32_t cap, int32_t* needed)
{
    ERR_clear_error();

    if (needed != NULL)
        *needed = 0;
    if (session == NULL)
    {
        fastsession_raise_argument("session is NULL");
        return FS_ERR_ARGUMENT;
    }

    BIO* bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return FS_ERR_OPENSSL;
    int32_t rc = SSL_SESSION_print(bio, session) ? fastsession_copy_mem_bio(bio, buf, cap, needed) : FS_ERR_OPENSSL;
    BIO_free(bio);
    return rc;
}
