/*
 * certificate.c — the ephemeral self-signed certificate and the peer certificate pair
 * (get0 borrowed / get1 owned), the shim's second ownership pair after SSL_SESSION.
 */
#include "fs_internal.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>

/* Adds subjectAltName DNS:<name> built directly (no config-string parsing of the name). */
static int add_san_dns(X509* cert, const char* name)
{
    int ok = 0;
    GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
    GENERAL_NAME* gen = GENERAL_NAME_new();
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    if (names == NULL || gen == NULL || ia5 == NULL || !ASN1_STRING_set(ia5, name, (int)strlen(name)))
        goto done;
    GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
    ia5 = NULL;
    if (!sk_GENERAL_NAME_push(names, gen))
        goto done;
    gen = NULL;
    ok = X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;

done:
    ASN1_IA5STRING_free(ia5);
    GENERAL_NAME_free(gen);
    GENERAL_NAMES_free(names);
    return ok;
}

static int add_basic_constraints_leaf(X509* cert)
{
    BASIC_CONSTRAINTS* bc = BASIC_CONSTRAINTS_new();
    if (bc == NULL)
        return 0;
    bc->ca = 0;
    int ok = X509_add1_ext_i2d(cert, NID_basic_constraints, bc, 1, X509V3_ADD_DEFAULT) == 1;
    BASIC_CONSTRAINTS_free(bc);
    return ok;
}

static int set_random_serial(X509* cert)
{
    BIGNUM* bn = BN_new();
    int ok = bn != NULL && BN_rand(bn, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
    BN_free(bn);
    return ok;
}

int32_t FastSessionNative_SslCtxUseEphemeralCertificate(SSL_CTX* ctx, const char* common_name, int32_t days_valid)
{
    ERR_clear_error();

    if (ctx == NULL || common_name == NULL || common_name[0] == '\0' || days_valid <= 0)
    {
        fastsession_raise_argument("ctx, common_name or days_valid invalid");
        return FS_ERR_ARGUMENT;
    }
    if (!fastsession_init())
        return FS_ERR_OPENSSL;

    int32_t rc = FS_ERR_OPENSSL;
    X509* cert = NULL;
    EVP_PKEY* key = EVP_EC_gen("P-256");
    if (key == NULL)
        goto done;

    cert = X509_new();
    if (cert == NULL || !X509_set_version(cert, X509_VERSION_3) || !set_random_serial(cert))
        goto done;

    // Valid from one hour ago (clock skew) for days_valid days.
    if (X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
        X509_time_adj_ex(X509_getm_notAfter(cert), days_valid, -3600, NULL) == NULL)
        goto done;

    X509_NAME* name = X509_get_subject_name(cert);
    if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char*)common_name, -1, -1, 0) ||
        !X509_set_issuer_name(cert, name) || !X509_set_pubkey(cert, key))
        goto done;

    if (!add_basic_constraints_leaf(cert) || !add_san_dns(cert, common_name))
        goto done;

    if (X509_sign(cert, key, EVP_sha256()) <= 0)
        goto done;

    // Both take their own references.
    if (!SSL_CTX_use_certificate(ctx, cert) || !SSL_CTX_use_PrivateKey(ctx, key) || !SSL_CTX_check_private_key(ctx))
        goto done;

    rc = FS_OK;

done:
    X509_free(cert);
    EVP_PKEY_free(key);
    if (rc != FS_OK && ERR_peek_error() == 0)
        ERR_raise(ERR_LIB_SSL, ERR_R_INTERNAL_ERROR);
    return rc;
}

X509* FastSessionNative_SslGet0PeerCertificate(const SSL* ssl)
{
    // No error queue impact.
    return ssl != NULL ? SSL_get0_peer_certificate(ssl) : NULL;
}

X509* FastSessionNative_SslGet1PeerCertificate(const SSL* ssl)
{
    ERR_clear_error();

    return ssl != NULL ? SSL_get1_peer_certificate(ssl) : NULL;
}

int32_t FastSessionNative_X509UpRef(X509* cert)
{
    return cert != NULL && X509_up_ref(cert) ? 1 : 0;
}

void FastSessionNative_X509Free(X509* cert)
{
    X509_free(cert);
}

int32_t FastSessionNative_I2dX509(const X509* cert, uint8_t* buf, int32_t cap, int32_t* needed)
{
    ERR_clear_error();

    if (needed != NULL)
        *needed = 0;
    if (cert == NULL)
    {
        fastsession_raise_argument("cert is NULL");
        return FS_ERR_ARGUMENT;
    }

    int32_t rc = fastsession_check_capacity(i2d_X509(cert, NULL), buf, cap, needed);
    if (rc != FS_OK)
        return rc;

    unsigned char* p = buf;
    int len = i2d_X509(cert, &p);
    return len > 0 ? len : FS_ERR_OPENSSL;
}

int32_t FastSessionNative_X509GetSubjectName(const X509* cert, char* buf, int32_t cap)
{
    // No error queue impact.
    if (cert == NULL || buf == NULL || cap <= 0)
        return 0;
    // X509_NAME_oneline truncates at entry boundaries (often to ""): format the whole name,
    // then cut it at the byte that fits.
    char* full = X509_NAME_oneline(X509_get_subject_name(cert), NULL, 0);
    if (full == NULL)
    {
        buf[0] = '\0';
        return 0;
    }
    size_t len = strlen(full);
    if (len > (size_t)cap - 1)
        len = (size_t)cap - 1;
    memcpy(buf, full, len);
    buf[len] = '\0';
    OPENSSL_free(full);
    return (int32_t)len;
}
