/*
 * verify.c — peer certificate verification: trust (system paths, PEM, directories), the host name
 * check, and a verdict the caller can take outside OpenSSL.
 *
 * The shim owns the certificate verify callback (SSL_CTX_set_cert_verify_callback). It runs
 * X509_verify_cert with a recording verify_cb that notes the first error, its depth and every
 * class of error (chain / name), and lets verification go on so both classes are known. Then:
 *  - without FS_VERIFY_DEFER the verdict is OpenSSL's (any error fails the handshake with the
 *    first error as SSL_get_verify_result and the alert);
 *  - with FS_VERIFY_DEFER (clients only: OpenSSL supports SSL_set_retry_verify on clients) the
 *    callback pauses the handshake (SSL_ERROR_WANT_RETRY_VERIFY). Managed code reads what was
 *    recorded, decides with FastSessionNative_SslSetVerifyDecision and runs the handshake again;
 *    OpenSSL calls the callback again, which verifies once more (so SSL_get0_verified_chain is
 *    set) and returns the caller's verdict. No managed code ever runs inside OpenSSL.
 * What was recorded (error, depth, classes, the chain with references) lives in the connection's
 * fs_conn_data and is released by SslClear / SSL_free.
 */
#include "fs_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

_Static_assert(FS_VERIFY_POLICY_NOT_AVAILABLE == 1, "mirrors SslPolicyErrors.RemoteCertificateNotAvailable");
_Static_assert(FS_VERIFY_POLICY_NAME_MISMATCH == 2, "mirrors SslPolicyErrors.RemoteCertificateNameMismatch");
_Static_assert(FS_VERIFY_POLICY_CHAIN_ERRORS == 4, "mirrors SslPolicyErrors.RemoteCertificateChainErrors");
_Static_assert(FS_SSL_ERROR_WANT_RETRY_VERIFY == SSL_ERROR_WANT_RETRY_VERIFY, "mirrors OpenSSL");

static int policy_of(int error)
{
    switch (error)
    {
        case X509_V_OK:
            return 0;
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
        case X509_V_ERR_EMAIL_MISMATCH:
            return FS_VERIFY_POLICY_NAME_MISMATCH;
        default:
            return FS_VERIFY_POLICY_CHAIN_ERRORS;
    }
}

void fastsession_verify_clear(fs_conn_data* conn)
{
    if (conn == NULL)
        return;
    sk_X509_pop_free(conn->verify_chain, X509_free);
    conn->verify_chain = NULL;
    conn->verify_ran = 0;
    conn->verify_error = X509_V_OK;
    conn->verify_depth = -1;
    conn->verify_policy = 0;
    conn->verify_pending = 0;
    conn->verify_decision = 0;
}

/* X509_STORE_CTX verify_cb: records, never decides (the verdict is taken after X509_verify_cert). */
static int record_cb(int ok, X509_STORE_CTX* store)
{
    if (ok)
        return 1;
    SSL* ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (conn == NULL)
        return 0; // not a shim connection: OpenSSL's default verdict
    int error = X509_STORE_CTX_get_error(store);
    if (conn->verify_error == X509_V_OK)
    {
        conn->verify_error = error;
        conn->verify_depth = X509_STORE_CTX_get_error_depth(store);
    }
    conn->verify_policy |= policy_of(error);
    return 1;
}

/* Runs X509_verify_cert and records everything. Returns 1 when nothing failed. */
static int verify_and_record(X509_STORE_CTX* store, fs_conn_data* conn)
{
    sk_X509_pop_free(conn->verify_chain, X509_free);
    conn->verify_chain = NULL;
    conn->verify_error = X509_V_OK;
    conn->verify_depth = -1;
    conn->verify_policy = 0;
    conn->verify_ran = 1;

    X509_STORE_CTX_set_verify_cb(store, record_cb);
    int ok = X509_verify_cert(store);
    if (ok <= 0 && conn->verify_error == X509_V_OK)
    {
        // Failed without reaching verify_cb (no certificate, out of memory): still a failure.
        int error = X509_STORE_CTX_get_error(store);
        conn->verify_error = error != X509_V_OK ? error : X509_V_ERR_UNSPECIFIED;
        conn->verify_depth = 0;
        conn->verify_policy |= FS_VERIFY_POLICY_CHAIN_ERRORS;
    }

    conn->verify_chain = X509_STORE_CTX_get1_chain(store);
    if (conn->verify_chain == NULL && X509_STORE_CTX_get0_cert(store) != NULL)
    {
        // No chain was built: keep at least the peer's own certificate for the caller.
        conn->verify_chain = sk_X509_new_null();
        X509* leaf = X509_STORE_CTX_get0_cert(store);
        if (conn->verify_chain != NULL && X509_up_ref(leaf) && !sk_X509_push(conn->verify_chain, leaf))
            X509_free(leaf);
    }

    // SSL_get_verify_result and the alert report the first error, not the last one verify_cb saw.
    X509_STORE_CTX_set_error(store, conn->verify_error);
    X509_STORE_CTX_set_error_depth(store, conn->verify_depth < 0 ? 0 : conn->verify_depth);
    return conn->verify_error == X509_V_OK;
}

static int cert_verify_cb(X509_STORE_CTX* store, void* arg)
{
    (void)arg;
    SSL* ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (conn == NULL)
        return X509_verify_cert(store) > 0 ? 1 : 0;

    fs_ctx_data* data = fastsession_ctx_get_data(SSL_get_SSL_CTX(ssl));
    int defer = data != NULL && (data->verify_flags & FS_VERIFY_DEFER) != 0 && !conn->is_server;

    int verified = verify_and_record(store, conn);
    if (!defer)
        return verified;

    if (!conn->verify_pending)
    {
        // First pass: pause the handshake; the caller decides outside OpenSSL. OpenSSL's contract
        // (SSL_CTX_set_cert_verify_callback(3)): call SSL_set_retry_verify and return 1; the handshake
        // then returns SSL_ERROR_WANT_RETRY_VERIFY and calls this callback again when resumed.
        if (!SSL_set_retry_verify(ssl))
            return 0;
        conn->verify_pending = 1;
        conn->verify_decision = 0;
        return 1;
    }

    if (conn->verify_decision == 0)
    {
        // Run again without a decision: stay paused rather than guess.
        return SSL_set_retry_verify(ssl) ? 1 : 0;
    }

    int accept = conn->verify_decision == 1;
    conn->verify_pending = 0;
    conn->verify_decision = 0;
    if (!accept && conn->verify_error == X509_V_OK)
    {
        conn->verify_error = X509_V_ERR_APPLICATION_VERIFICATION;
        conn->verify_depth = 0;
        X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    }
    return accept ? 1 : 0;
}

/*
 * OpenSSL's default verify paths, made cheap per context. SSL_CTX_set_default_verify_paths parses
 * the whole CA bundle for every SSL_CTX (measured here: 240-490 ms per client context with
 * OpenSSL 3.0's decoders). The bundle (SSL_CERT_FILE, else X509_get_default_cert_file) is read
 * once per process with PEM_read_bio_X509_AUX, its certificates are kept for the process lifetime
 * (taken out of the live counts) and added to each context's store by reference; the default
 * directory (SSL_CERT_DIR, else X509_get_default_cert_dir) is added as a lazy hash-dir lookup per
 * context, as OpenSSL does. The environment is therefore read when the first verifying context
 * of the process is made.
 */
static CRYPTO_ONCE g_default_trust_once = CRYPTO_ONCE_STATIC_INIT;
static STACK_OF(X509)* g_default_trust;

static void load_default_trust(void)
{
    const char* path = getenv(X509_get_default_cert_file_env());
    if (path == NULL || path[0] == '\0')
        path = X509_get_default_cert_file();
    STACK_OF(X509)* certs = sk_X509_new_null();
    BIO* bio = certs != NULL ? BIO_new_file(path, "r") : NULL;
    if (bio != NULL)
    {
        X509* cert;
        while ((cert = PEM_read_bio_X509_AUX(bio, NULL, fastsession_no_passphrase, NULL)) != NULL)
        {
            if (!sk_X509_push(certs, cert))
            {
                X509_free(cert);
                break;
            }
            fastsession_uncount_x509(cert);
        }
        BIO_free(bio);
    }
    // A missing bundle is not an error (the directory may hold everything); the queue stays clean.
    ERR_clear_error();
    g_default_trust = certs;
}

static int add_default_trust(SSL_CTX* ctx)
{
    if (!CRYPTO_THREAD_run_once(&g_default_trust_once, load_default_trust))
        return 0;
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    for (int i = 0; g_default_trust != NULL && i < sk_X509_num(g_default_trust); i++)
    {
        // X509_STORE_add_cert takes a reference; a duplicate is not an error.
        if (!X509_STORE_add_cert(store, sk_X509_value(g_default_trust, i)))
            return 0;
    }
    X509_LOOKUP* dir = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir());
    if (dir == NULL || !X509_LOOKUP_add_dir(dir, NULL, X509_FILETYPE_DEFAULT))
        return 0;
    ERR_clear_error();
    return 1;
}

int32_t FastSessionNative_SslCtxSetVerify(SSL_CTX* ctx, int32_t flags)
{
    ERR_clear_error();

    fs_ctx_data* data = fastsession_ctx_get_data(ctx);
    const int32_t known = FS_VERIFY_PEER | FS_VERIFY_REQUIRE_PEER_CERTIFICATE | FS_VERIFY_DEFAULT_PATHS |
        FS_VERIFY_CHECK_NAME | FS_VERIFY_DEFER;
    if (data == NULL || (flags & ~known) != 0)
    {
        fastsession_raise_argument("a context made by FastSessionNative_SslCtxCreate and known FS_VERIFY_* flags are needed");
        return FS_ERR_ARGUMENT;
    }

    if ((flags & FS_VERIFY_DEFAULT_PATHS) && !add_default_trust(ctx))
    {
        if (ERR_peek_error() == 0)
            ERR_raise(ERR_LIB_SSL, ERR_R_INTERNAL_ERROR);
        return FS_ERR_OPENSSL;
    }

    int mode = SSL_VERIFY_NONE;
    if (flags & FS_VERIFY_PEER)
    {
        mode = SSL_VERIFY_PEER;
        if (data->is_server && (flags & FS_VERIFY_REQUIRE_PEER_CERTIFICATE))
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    }
    SSL_CTX_set_verify(ctx, mode, NULL);
    SSL_CTX_set_cert_verify_callback(ctx, (flags & FS_VERIFY_PEER) ? cert_verify_cb : NULL, NULL);
    data->verify_flags = flags;
    return FS_OK;
}

int32_t FastSessionNative_SslCtxLoadVerifyLocations(SSL_CTX* ctx, const char* file, const char* dir)
{
    ERR_clear_error();

    if (ctx == NULL || (file == NULL && dir == NULL))
    {
        fastsession_raise_argument("a context and a file or directory are needed");
        return FS_ERR_ARGUMENT;
    }
    if (file != NULL && !SSL_CTX_load_verify_file(ctx, file))
        return FS_ERR_OPENSSL;
    if (dir != NULL && !SSL_CTX_load_verify_dir(ctx, dir))
        return FS_ERR_OPENSSL;
    return FS_OK;
}

int32_t FastSessionNative_SslCtxAddClientCaPem(SSL_CTX* ctx, const uint8_t* pem, int32_t len)
{
    ERR_clear_error();

    if (ctx == NULL || pem == NULL || len <= 0)
    {
        fastsession_raise_argument("client CA PEM missing");
        return FS_ERR_ARGUMENT;
    }
    BIO* bio = BIO_new_mem_buf(pem, len);
    if (bio == NULL)
        return FS_ERR_OPENSSL;
    int32_t rc = FS_OK;
    X509* cert;
    while ((cert = PEM_read_bio_X509(bio, NULL, fastsession_no_passphrase, NULL)) != NULL)
    {
        // SSL_CTX_add_client_CA copies the name; the certificate stays ours.
        if (!SSL_CTX_add_client_CA(ctx, cert))
            rc = FS_ERR_OPENSSL;
        X509_free(cert);
        if (rc != FS_OK)
            break;
    }
    BIO_free(bio);
    if (rc == FS_OK)
        ERR_clear_error(); // the loop ends on "no start line"
    return rc;
}

int fastsession_is_ip_literal(const char* name)
{
    if (name == NULL)
        return 0;
    ASN1_OCTET_STRING* ip = a2i_IPADDRESS(name);
    if (ip == NULL)
    {
        ERR_clear_error(); // a2i_IPADDRESS queues a reason for every non-IP name
        return 0;
    }
    ASN1_OCTET_STRING_free(ip);
    return 1;
}

int fastsession_verify_set_name(SSL* ssl, const char* name)
{
    if (ssl == NULL || name == NULL)
        return 1;
    fs_ctx_data* data = fastsession_ctx_get_data(SSL_get_SSL_CTX(ssl));
    if (data == NULL || data->is_server || (data->verify_flags & FS_VERIFY_CHECK_NAME) == 0)
        return 1;

    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    // An IP literal is checked against iPAddress entries, a name against DNS entries (and the CN).
    if (fastsession_is_ip_literal(name))
        return X509_VERIFY_PARAM_set1_host(param, NULL, 0) && X509_VERIFY_PARAM_set1_ip_asc(param, name);
    return X509_VERIFY_PARAM_set1_ip(param, NULL, 0) && SSL_set1_host(ssl, name);
}

int32_t FastSessionNative_SslGetVerifyStatus(SSL* ssl, int32_t* error, int32_t* depth, int32_t* policy)
{
    // No error queue impact.
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (error != NULL)
        *error = conn != NULL ? conn->verify_error : 0;
    if (depth != NULL)
        *depth = conn != NULL ? conn->verify_depth : -1;
    if (policy != NULL)
        *policy = conn != NULL ? conn->verify_policy : 0;
    if (conn == NULL || !conn->verify_ran)
        return 0;
    return conn->verify_pending ? 2 : 1;
}

int32_t FastSessionNative_SslGetVerifyChainLength(SSL* ssl)
{
    // No error queue impact.
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    return conn != NULL && conn->verify_chain != NULL ? sk_X509_num(conn->verify_chain) : 0;
}

int32_t FastSessionNative_SslGetVerifyChainCertificate(SSL* ssl, int32_t index, uint8_t* buf, int32_t cap, int32_t* needed)
{
    ERR_clear_error();

    if (needed != NULL)
        *needed = 0;
    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (conn == NULL || conn->verify_chain == NULL || index < 0 || index >= sk_X509_num(conn->verify_chain))
    {
        fastsession_raise_argument("no recorded certificate at this index");
        return FS_ERR_ARGUMENT;
    }
    X509* cert = sk_X509_value(conn->verify_chain, index);
    int len = i2d_X509(cert, NULL);
    int32_t rc = fastsession_check_capacity(len, buf, cap, needed);
    if (rc != FS_OK)
        return rc;
    unsigned char* p = buf;
    return i2d_X509(cert, &p);
}

int32_t FastSessionNative_SslSetVerifyDecision(SSL* ssl, int32_t accept)
{
    ERR_clear_error();

    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (conn == NULL || !conn->verify_pending)
    {
        fastsession_raise_argument("no certificate verification is waiting for a decision");
        return FS_ERR_ARGUMENT;
    }
    conn->verify_decision = accept ? 1 : 2;
    return FS_OK;
}

int32_t FastSessionNative_X509VerifyCertErrorString(int32_t error, char* buf, int32_t cap)
{
    // No error queue impact.
    if (buf == NULL || cap <= 0)
        return 0;
    const char* text = X509_verify_cert_error_string(error);
    size_t n = strlen(text);
    if (n >= (size_t)cap)
        n = (size_t)cap - 1;
    memcpy(buf, text, n);
    buf[n] = '\0';
    return (int32_t)n;
}

int64_t FastSessionNative_SslGetVerifyResult(SSL* ssl)
{
    // No error queue impact.
    return ssl != NULL ? (int64_t)SSL_get_verify_result(ssl) : X509_V_ERR_UNSPECIFIED;
}

int32_t FastSessionNative_SslGetVerifyPeerNames(SSL* ssl, char* buf, int32_t cap)
{
    ERR_clear_error();

    fs_conn_data* conn = fastsession_conn_get_data(ssl);
    if (buf == NULL || cap <= 0)
        return 0;
    buf[0] = '\0';
    if (conn == NULL || conn->verify_chain == NULL || sk_X509_num(conn->verify_chain) == 0)
        return 0;

    X509* leaf = sk_X509_value(conn->verify_chain, 0);
    BIO* bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return 0;
    int loc = X509_get_ext_by_NID(leaf, NID_subject_alt_name, -1);
    X509_EXTENSION* ext = loc >= 0 ? X509_get_ext(leaf, loc) : NULL;
    // The names a host is checked against: subjectAltName when present (then the CN is ignored), else the subject.
    if (ext == NULL || X509V3_EXT_print(bio, ext, 0, 0) <= 0)
    {
        (void)BIO_reset(bio);
        X509_NAME_print_ex(bio, X509_get_subject_name(leaf), 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
    }
    char* data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    int32_t n = len < 0 ? 0 : (len >= cap ? cap - 1 : (int32_t)len);
    if (n > 0)
        memcpy(buf, data, (size_t)n);
    buf[n] = '\0';
    BIO_free(bio);
    ERR_clear_error();
    return n;
}
