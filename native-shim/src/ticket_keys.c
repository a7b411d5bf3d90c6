/*
 * ticket_keys.c — session-ticket keys under the application's control
 * (SSL_CTX_set_tlsext_ticket_key_evp_cb), so every process of a fleet can encrypt and decrypt
 * the same tickets and rotate keys without a restart.
 *
 * A ring (fs_ticket_keys) holds one encrypting key (index 0) and older decrypt-only keys, each
 * with a "decrypt until" time. Managed code builds a whole new key array and installs it with one
 * call (FastSessionNative_TicketKeysInstall): the swap happens under the ring's write lock, the
 * OpenSSL callback reads the ring under the read lock, and the callback touches native memory
 * only — no managed code ever runs inside OpenSSL.
 *
 * Key material: copied into OPENSSL_zalloc'd memory, wiped with OPENSSL_cleanse when replaced or
 * freed (OPENSSL_clear_free), never logged or returned by any export.
 *
 * Reference counts: the managed owner holds one reference; each SSL_CTX the ring is attached to
 * holds another, dropped by the ex_data free callback when the context is freed. So a context
 * outliving the managed ring keeps working with the last keys installed.
 */
#include "fs_internal.h"

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

struct fs_ticket_keys {
    _Atomic int32_t refs;
    CRYPTO_RWLOCK* lock;      /* guards keys/count; the callback holds it for reading */
    fs_ticket_key* keys;      /* count entries, [0] encrypts; OPENSSL_clear_free'd */
    int32_t count;
    _Atomic int64_t issued;   /* tickets encrypted (callback enc = 1, returned 1) */
    _Atomic int64_t resumed;  /* decryptions under the encrypting key (returned 1) */
    _Atomic int64_t renewed;  /* decryptions under an older key (returned 2: re-issue) */
    _Atomic int64_t failed;   /* unknown key name, expired key, or crypto setup failure */
};

/* The mirrored layouts (src/FastSession/Fleet/TicketKeyNative.cs checks the same numbers). */
_Static_assert(sizeof(fs_ticket_key) == 96, "fs_ticket_key size");
_Static_assert(offsetof(fs_ticket_key, name) == 0, "fs_ticket_key.name");
_Static_assert(offsetof(fs_ticket_key, hmac_key) == 16, "fs_ticket_key.hmac_key");
_Static_assert(offsetof(fs_ticket_key, aes_key) == 48, "fs_ticket_key.aes_key");
_Static_assert(offsetof(fs_ticket_key, key_size) == 80, "fs_ticket_key.key_size");
_Static_assert(offsetof(fs_ticket_key, not_after) == 88, "fs_ticket_key.not_after");
_Static_assert(sizeof(fs_ticket_key_counts) == 32, "fs_ticket_key_counts size");
_Static_assert(offsetof(fs_ticket_key_counts, failed) == 24, "fs_ticket_key_counts.failed");
_Static_assert(FS_TICKET_KEY_NAME_LENGTH == 16, "OpenSSL's ticket key name is 16 bytes");
_Static_assert(FS_TICKET_KEYS_MAX == 16, "FS_TICKET_KEYS_MAX");

static _Atomic int64_t g_live_rings;
static CRYPTO_ONCE g_index_once = CRYPTO_ONCE_STATIC_INIT;
static int g_ctx_index = -1;

static void ring_release(fs_ticket_keys* ring)
{
    if (ring == NULL)
        return;
    if (atomic_fetch_sub_explicit(&ring->refs, 1, memory_order_acq_rel) != 1)
        return;
    OPENSSL_clear_free(ring->keys, sizeof(fs_ticket_key) * (size_t)ring->count);
    CRYPTO_THREAD_lock_free(ring->lock);
    OPENSSL_free(ring);
    atomic_fetch_sub_explicit(&g_live_rings, 1, memory_order_relaxed);
}

/* SSL_CTX ex_data free callback: the context drops its reference to the ring. */
static void ctx_ring_free(void* parent, void* ptr, CRYPTO_EX_DATA* ad, int idx, long argl, void* argp)
{
    (void)parent;
    (void)ad;
    (void)idx;
    (void)argl;
    (void)argp;
    ring_release((fs_ticket_keys*)ptr);
}

static void register_index(void)
{
    g_ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ctx_ring_free);
}

static const EVP_CIPHER* cipher_for(const fs_ticket_key* key)
{
    return key->key_size == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc();
}

static int set_mac_key(EVP_MAC_CTX* hctx, const fs_ticket_key* key)
{
    char digest[] = "SHA256";
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void*)key->hmac_key, (size_t)key->key_size);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
    params[2] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(hctx, params);
}

static int key_usable(const fs_ticket_key* key, int64_t now)
{
    return key->not_after == 0 || now < key->not_after;
}

/* OpenSSL's ticket key callback. Returns (per SSL_CTX_set_tlsext_ticket_key_evp_cb(3)):
 * encrypt: 1 = ticket made, 0 = no ticket this time; decrypt: 1 = key found, 2 = found under an
 * older key (OpenSSL re-issues the ticket under the current one), 0 = unknown or expired key
 * (full handshake); -1 = internal failure (the handshake fails — used only when RAND fails). */
static int ticket_key_cb(SSL* ssl, unsigned char key_name[16], unsigned char* iv,
    EVP_CIPHER_CTX* cctx, EVP_MAC_CTX* hctx, int enc)
{
    fs_ticket_keys* ring = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), g_ctx_index);
    if (ring == NULL)
        return 0;
    int64_t now = (int64_t)time(NULL);
    int result = 0;
    if (!CRYPTO_THREAD_read_lock(ring->lock))
        return 0;
    if (enc)
    {
        const fs_ticket_key* key = ring->count > 0 ? &ring->keys[0] : NULL;
        if (key != NULL && key_usable(key, now))
        {
            const EVP_CIPHER* cipher = cipher_for(key);
            if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(cipher)) <= 0)
                result = -1;
            else if (EVP_EncryptInit_ex(cctx, cipher, NULL, key->aes_key, iv) && set_mac_key(hctx, key))
            {
                memcpy(key_name, key->name, FS_TICKET_KEY_NAME_LENGTH);
                result = 1;
            }
        }
        CRYPTO_THREAD_unlock(ring->lock);
        atomic_fetch_add_explicit(result == 1 ? &ring->issued : &ring->failed, 1, memory_order_relaxed);
        return result;
    }
    for (int32_t i = 0; i < ring->count; i++)
    {
        const fs_ticket_key* key = &ring->keys[i];
        if (CRYPTO_memcmp(key->name, key_name, FS_TICKET_KEY_NAME_LENGTH) != 0)
            continue;
        if (key_usable(key, now) && set_mac_key(hctx, key)
            && EVP_DecryptInit_ex(cctx, cipher_for(key), NULL, key->aes_key, iv))
            result = i == 0 ? 1 : 2;
        break;
    }
    CRYPTO_THREAD_unlock(ring->lock);
    _Atomic int64_t* counter = result == 1 ? &ring->resumed : result == 2 ? &ring->renewed : &ring->failed;
    atomic_fetch_add_explicit(counter, 1, memory_order_relaxed);
    // TLS 1.3 tickets are single use (RFC 8446 C.4), and OpenSSL sends a new one after a resumption
    // only when asked to renew: without it a client using each ticket once falls back to a full
    // handshake after every two resumptions. (SSL_version is already negotiated when the PSK
    // extension is parsed.)
    if (result == 1 && SSL_version(ssl) == TLS1_3_VERSION)
        return 2;
    return result;
}

FS_EXPORT fs_ticket_keys* FastSessionNative_TicketKeysNew(void)
{
    ERR_clear_error();
    fs_ticket_keys* ring = OPENSSL_zalloc(sizeof(*ring));
    if (ring == NULL)
        return NULL;
    ring->lock = CRYPTO_THREAD_lock_new();
    if (ring->lock == NULL)
    {
        OPENSSL_free(ring);
        return NULL;
    }
    atomic_init(&ring->refs, 1);
    atomic_fetch_add_explicit(&g_live_rings, 1, memory_order_relaxed);
    return ring;
}

FS_EXPORT void FastSessionNative_TicketKeysFree(fs_ticket_keys* ring)
{
    ring_release(ring);
}

FS_EXPORT int32_t FastSessionNative_TicketKeysInstall(fs_ticket_keys* ring, const fs_ticket_key* keys, int32_t count)
{
    ERR_clear_error();
    if (ring == NULL || keys == NULL || count < 1 || count > FS_TICKET_KEYS_MAX)
    {
        fastsession_raise_argument("ticket keys: NULL ring or keys, or a count outside 1..16");
        return FS_ERR_ARGUMENT;
    }
    for (int32_t i = 0; i < count; i++)
    {
        if (keys[i].key_size != 16 && keys[i].key_size != 32)
        {
            fastsession_raise_argument("ticket keys: key_size must be 16 or 32");
            return FS_ERR_ARGUMENT;
        }
    }
    fs_ticket_key* copy = OPENSSL_malloc(sizeof(fs_ticket_key) * (size_t)count);
    if (copy == NULL)
        return FS_ERR_OPENSSL;
    memcpy(copy, keys, sizeof(fs_ticket_key) * (size_t)count);
    if (!CRYPTO_THREAD_write_lock(ring->lock))
    {
        OPENSSL_clear_free(copy, sizeof(fs_ticket_key) * (size_t)count);
        return FS_ERR_OPENSSL;
    }
    fs_ticket_key* old = ring->keys;
    int32_t old_count = ring->count;
    ring->keys = copy;
    ring->count = count;
    CRYPTO_THREAD_unlock(ring->lock);
    OPENSSL_clear_free(old, sizeof(fs_ticket_key) * (size_t)old_count);
    return FS_OK;
}

FS_EXPORT int32_t FastSessionNative_TicketKeysGetCounts(const fs_ticket_keys* ring, fs_ticket_key_counts* counts)
{
    if (ring == NULL || counts == NULL)
        return FS_ERR_ARGUMENT;
    counts->issued = atomic_load_explicit(&ring->issued, memory_order_relaxed);
    counts->resumed = atomic_load_explicit(&ring->resumed, memory_order_relaxed);
    counts->renewed = atomic_load_explicit(&ring->renewed, memory_order_relaxed);
    counts->failed = atomic_load_explicit(&ring->failed, memory_order_relaxed);
    return FS_OK;
}

FS_EXPORT int64_t FastSessionNative_TicketKeysGetLiveCount(void)
{
    return atomic_load_explicit(&g_live_rings, memory_order_relaxed);
}

FS_EXPORT int32_t FastSessionNative_SslCtxSetTlsextTicketKeyEvpCb(SSL_CTX* ctx, fs_ticket_keys* ring)
{
    ERR_clear_error();
    if (ctx == NULL || ring == NULL)
    {
        fastsession_raise_argument("ticket keys: NULL context or ring");
        return FS_ERR_ARGUMENT;
    }
    if (!CRYPTO_THREAD_run_once(&g_index_once, register_index) || g_ctx_index < 0)
        return FS_ERR_OPENSSL;
    // Once per context: the callback reads the ex_data slot without a lock, so it must never
    // change while handshakes may run. Rotation goes through the ring, not a new attachment.
    if (SSL_CTX_get_ex_data(ctx, g_ctx_index) != NULL)
    {
        fastsession_raise_argument("ticket keys: this context already has a key ring");
        return FS_ERR_ARGUMENT;
    }
    atomic_fetch_add_explicit(&ring->refs, 1, memory_order_relaxed);
    if (!SSL_CTX_set_ex_data(ctx, g_ctx_index, ring))
    {
        ring_release(ring);
        return FS_ERR_OPENSSL;
    }
    if (!SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb))
        return FS_ERR_OPENSSL; // the slot keeps its reference; the context's free drops it
    return FS_OK;
}
