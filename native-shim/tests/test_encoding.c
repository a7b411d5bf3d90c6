/*
 * test_encoding.c — DER, PEM and text encodings of sessions: the needed-size two-call contract,
 * round trips that still resume, and malformed, truncated or padded input rejected with a
 * reason in the error queue.
 */
#include "test_support.h"

#include <openssl/bio.h>
#include <openssl/pem.h>

static SSL_CTX* g_server;
static SSL_CTX* g_client;

/* A resumable TLS 1.3 session (first ticket) of g_client; caller frees. */
static SSL_SESSION* make_session(void)
{
    fs_ctx_options so = fs_server_options(FS_TLS1_3);
    so.num_tickets = 1;
    fs_ctx_options co = fs_client_options(FS_TLS1_3);
    g_server = fs_make_ctx(&so);
    g_client = fs_make_ctx(&co);
    SSL_SESSION* captured[1];
    int32_t n = 0;
    CHECK(fs_connect_once(g_client, g_server, NULL, NULL, captured, 1, &n));
    CHECK_EQ(n, 1);
    return captured[0];
}

static void done(SSL_SESSION* session)
{
    FastSessionNative_SslSessionFree(session);
    FastSessionNative_SslCtxFree(g_client);
    FastSessionNative_SslCtxFree(g_server);
    g_client = g_server = NULL;
}

static int32_t to_der(SSL_SESSION* session, uint8_t* der, int32_t cap)
{
    int32_t needed = -1;
    CHECK_EQ(FastSessionNative_I2dSslSession(session, NULL, 0, &needed), FS_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > 0 && needed <= cap);
    CHECK_EQ(FastSessionNative_I2dSslSession(session, der, needed - 1, &needed), FS_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(FastSessionNative_I2dSslSession(session, der, cap, &needed), needed);
    return needed;
}

static void check_rejected_der(const uint8_t* der, int32_t len)
{
    FastSessionNative_ErrClearError();
    fs_live_counts before = fs_counts();
    CHECK(FastSessionNative_D2iSslSession(der, len, 0) == NULL);
    CHECK(FastSessionNative_ErrGetError() != 0);
    CHECK_BASELINE(before);
    FastSessionNative_ErrClearError();
}

static void check_rejected_pem(const char* pem, int32_t len)
{
    FastSessionNative_ErrClearError();
    fs_live_counts before = fs_counts();
    CHECK(FastSessionNative_PemReadSslSession((const uint8_t*)pem, len, 0) == NULL);
    CHECK(FastSessionNative_ErrGetError() != 0);
    CHECK_BASELINE(before);
    FastSessionNative_ErrClearError();
}

FS_TEST(der_round_trip_resumes)
{
    SSL_SESSION* session = make_session();
    uint8_t der[8192];
    int32_t len = to_der(session, der, sizeof(der));

    uint64_t ctx_id = FastSessionNative_SslCtxGetId(g_client);
    SSL_SESSION* decoded = FastSessionNative_D2iSslSession(der, len, ctx_id);
    CHECK(decoded != NULL);
    CHECK_EQ(FastSessionNative_SslSessionGetContextId(decoded), ctx_id);

    fs_session_info a, b;
    CHECK_EQ(FastSessionNative_SslSessionGetInfo(session, &a), FS_OK);
    CHECK_EQ(FastSessionNative_SslSessionGetInfo(decoded, &b), FS_OK);
    CHECK_EQ(a.id_length, b.id_length);
    CHECK(memcmp(a.id, b.id, (size_t)a.id_length) == 0);
    CHECK_EQ(a.cipher_id, b.cipher_id);
    CHECK_EQ(a.protocol_version, b.protocol_version);
    CHECK_EQ(a.time, b.time);
    CHECK_EQ(a.timeout, b.timeout);
    CHECK_EQ(b.resumable, 1);
    CHECK_EQ(b.has_ticket, 1);
    CHECK_EQ(a.sni_length, b.sni_length);

    // The same bytes again.
    uint8_t der2[8192];
    CHECK_EQ(to_der(decoded, der2, sizeof(der2)), len);
    CHECK(memcmp(der, der2, (size_t)len) == 0);

    int reused = 0;
    CHECK(fs_connect_once(g_client, g_server, decoded, &reused, NULL, 0, NULL));
    CHECK_EQ(reused, 1);

    FastSessionNative_SslSessionFree(decoded);
    done(session);
}

FS_TEST(pem_round_trip_matches_openssl_format)
{
    SSL_SESSION* session = make_session();
    int32_t needed = -1;
    CHECK_EQ(FastSessionNative_PemWriteSslSession(session, NULL, 0, &needed), FS_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > 0);
    char* pem = malloc((size_t)needed + 1);
    CHECK(pem != NULL);
    CHECK_EQ(FastSessionNative_PemWriteSslSession(session, (uint8_t*)pem, needed - 1, &needed), FS_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(FastSessionNative_PemWriteSslSession(session, (uint8_t*)pem, needed, &needed), needed);
    pem[needed] = '\0';
    CHECK(strncmp(pem, "-----BEGIN SSL SESSION PARAMETERS-----\n", 39) == 0);
    CHECK(strstr(pem, "-----END SSL SESSION PARAMETERS-----\n") != NULL);

    uint64_t ctx_id = FastSessionNative_SslCtxGetId(g_client);
    SSL_SESSION* decoded = FastSessionNative_PemReadSslSession((const uint8_t*)pem, needed, ctx_id);
    CHECK(decoded != NULL);
    CHECK_EQ(FastSessionNative_SslSessionGetContextId(decoded), ctx_id);
    uint8_t der1[8192], der2[8192];
    int32_t len1 = to_der(session, der1, sizeof(der1));
    int32_t len2 = to_der(decoded, der2, sizeof(der2));
    CHECK_EQ(len1, len2);
    CHECK(memcmp(der1, der2, (size_t)len1) == 0);
    FastSessionNative_SslSessionFree(decoded);

    // The first session in a text: other PEM blocks before it and text after it are fine.
    size_t cap = (size_t)needed + 1024;
    char* text = malloc(cap);
    CHECK(text != NULL);
    int32_t cert_len = 0;
    CHECK_EQ(FastSessionNative_SslCtxGetCertificatePem(g_server, NULL, 0, &cert_len), FS_ERR_BUFFER_TOO_SMALL);
    char* cert = malloc((size_t)cert_len);
    CHECK(cert != NULL);
    CHECK_EQ(FastSessionNative_SslCtxGetCertificatePem(g_server, (uint8_t*)cert, cert_len, &cert_len), cert_len);
    size_t tlen = (size_t)snprintf(text, cap, "comment line\n%.*s%strailing words\n", cert_len, cert, pem);
    CHECK(tlen < cap);
    decoded = FastSessionNative_PemReadSslSession((const uint8_t*)text, (int32_t)tlen, 0);
    CHECK(decoded != NULL);
    CHECK_EQ(FastSessionNative_SslSessionGetContextId(decoded), 0);
    FastSessionNative_SslSessionFree(decoded);

    free(cert);
    free(text);
    free(pem);
    done(session);
}

FS_TEST(session_print_like_sess_id_text)
{
    SSL_SESSION* session = make_session();
    int32_t needed = -1;
    CHECK_EQ(FastSessionNative_SslSessionPrint(session, NULL, 0, &needed), FS_ERR_BUFFER_TOO_SMALL);
    CHECK(needed > 0);
    char* text = malloc((size_t)needed + 1);
    CHECK(text != NULL);
    CHECK_EQ(FastSessionNative_SslSessionPrint(session, (uint8_t*)text, needed, NULL), needed);
    text[needed] = '\0';
    CHECK(strstr(text, "SSL-Session:") != NULL);
    CHECK(strstr(text, "Protocol  : TLSv1.3") != NULL);
    CHECK(strstr(text, "Session-ID:") != NULL);
    CHECK(strstr(text, "TLS session ticket") != NULL);
    CHECK_EQ(FastSessionNative_SslSessionPrint(NULL, (uint8_t*)text, needed, &needed), FS_ERR_ARGUMENT);
    CHECK(FastSessionNative_ErrGetError() != 0);
    free(text);
    done(session);
}

FS_TEST(malformed_der_is_rejected)
{
    SSL_SESSION* session = make_session();
    uint8_t der[8192];
    int32_t len = to_der(session, der, sizeof(der) - 16);

    check_rejected_der(NULL, 10);
    check_rejected_der(der, 0);
    check_rejected_der(der, -1);
    check_rejected_der(der, len - 1);      // truncated by one byte
    check_rejected_der(der, len / 2);      // truncated in the middle
    check_rejected_der(der + 1, len - 1);  // no SEQUENCE header
    memcpy(der + len, "\x00\x01garbage", 9);
    check_rejected_der(der, len + 1);      // one trailing byte
    check_rejected_der(der, len + 9);      // trailing garbage

    // A valid outer SEQUENCE with nonsense inside.
    static const uint8_t nonsense[] = { 0x30, 0x06, 0x02, 0x01, 0x01, 0x04, 0x01, 0xFF };
    check_rejected_der(nonsense, sizeof(nonsense));
    uint8_t random_bytes[64];
    for (size_t i = 0; i < sizeof(random_bytes); i++)
        random_bytes[i] = (uint8_t)(i * 37 + 11);
    check_rejected_der(random_bytes, sizeof(random_bytes));

    // Still fine at the exact length.
    SSL_SESSION* ok = FastSessionNative_D2iSslSession(der, len, 0);
    CHECK(ok != NULL);
    FastSessionNative_SslSessionFree(ok);
    done(session);
}

/* PEM-wraps arbitrary bytes under the session label. */
static char* pem_wrap(const uint8_t* der, int32_t len, int32_t* out_len)
{
    BIO* bio = BIO_new(BIO_s_mem());
    CHECK(bio != NULL);
    CHECK(PEM_write_bio(bio, PEM_STRING_SSL_SESSION, "", der, len));
    char* data = NULL;
    long n = BIO_get_mem_data(bio, &data);
    char* copy = malloc((size_t)n + 1);
    CHECK(copy != NULL);
    memcpy(copy, data, (size_t)n);
    copy[n] = '\0';
    BIO_free(bio);
    *out_len = (int32_t)n;
    return copy;
}

FS_TEST(malformed_pem_is_rejected)
{
    SSL_SESSION* session = make_session();
    int32_t pem_len = 0;
    FastSessionNative_PemWriteSslSession(session, NULL, 0, &pem_len);
    char* pem = malloc((size_t)pem_len + 1);
    CHECK(pem != NULL);
    CHECK_EQ(FastSessionNative_PemWriteSslSession(session, (uint8_t*)pem, pem_len, NULL), pem_len);
    pem[pem_len] = '\0';

    check_rejected_pem(NULL, 10);
    check_rejected_pem(pem, 0);
    check_rejected_pem(pem, -5);
    check_rejected_pem(pem, pem_len / 2);                   // no END line
    check_rejected_pem("not a pem at all\n", 17);
    check_rejected_pem("-----BEGIN SSL SESSION PARAMETERS-----\n!!!!\n-----END SSL SESSION PARAMETERS-----\n", 82);

    // A different label only.
    int32_t cert_len = 0;
    FastSessionNative_SslCtxGetCertificatePem(g_server, NULL, 0, &cert_len);
    char* cert = malloc((size_t)cert_len);
    CHECK(cert != NULL);
    CHECK_EQ(FastSessionNative_SslCtxGetCertificatePem(g_server, (uint8_t*)cert, cert_len, NULL), cert_len);
    check_rejected_pem(cert, cert_len);
    free(cert);

    // Valid base64 of a DER with trailing garbage, and of a truncated DER.
    uint8_t der[8192];
    int32_t der_len = to_der(session, der, sizeof(der) - 8);
    memcpy(der + der_len, "JUNKJUNK", 8);
    int32_t len = 0;
    char* padded = pem_wrap(der, der_len + 8, &len);
    check_rejected_pem(padded, len);
    free(padded);
    char* truncated = pem_wrap(der, der_len - 3, &len);
    check_rejected_pem(truncated, len);
    free(truncated);
    char* exact = pem_wrap(der, der_len, &len);
    SSL_SESSION* ok = FastSessionNative_PemReadSslSession((const uint8_t*)exact, len, 0);
    CHECK(ok != NULL);
    FastSessionNative_SslSessionFree(ok);
    free(exact);

    free(pem);
    done(session);
}

FS_TEST(encoders_reject_null_session)
{
    int32_t needed = 99;
    uint8_t buf[16];
    CHECK_EQ(FastSessionNative_I2dSslSession(NULL, buf, sizeof(buf), &needed), FS_ERR_ARGUMENT);
    CHECK_EQ(needed, 0);
    CHECK(FastSessionNative_ErrGetError() != 0);
    CHECK_EQ(FastSessionNative_PemWriteSslSession(NULL, buf, sizeof(buf), &needed), FS_ERR_ARGUMENT);
    CHECK(FastSessionNative_ErrGetError() != 0);
    CHECK_EQ(FastSessionNative_I2dX509(NULL, buf, sizeof(buf), &needed), FS_ERR_ARGUMENT);
    CHECK(FastSessionNative_ErrGetError() != 0);
    FastSessionNative_ErrClearError();
}
