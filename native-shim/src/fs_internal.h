/*
 * fs_internal.h — private declarations shared by the shim's source files.
 * Nothing here is exported: the build uses -fvisibility=hidden and a version script, and every
 * internal symbol starts with fs_ so the static archive links cleanly into any executable.
 */
#ifndef FASTSESSION_INTERNAL_H
#define FASTSESSION_INTERNAL_H

#include "fastsession_shim.h"

#include <stdint.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* ---- accounting.c: ex_data indices and live counts ------------------------------------------ */

/* ex_data indices owned by the shim; valid after fastsession_init() returned 1. */
typedef struct fs_indices {
    int ctx_data;      /* SSL_CTX: fs_ctx_data* (freed by the index's free callback) */
    int ssl_data;      /* SSL: fs_conn_data* (the new-session ring; freed by the free callback) */
    int session_ctx_id;/* SSL_SESSION: context id stamp, stored as an integer (uintptr_t) */
    int session_cache; /* SSL_SESSION: id of the context whose internal cache it is or may be in (0 = none) */
    int ctx_count;     /* counting indices: marker set by new_func, checked by free_func */
    int ssl_count;
    int session_count;
    int x509_count;
} fs_indices;

extern fs_indices fastsession_idx;

/* Registers the ex_data indices once per process (CRYPTO_THREAD_run_once). Returns 1 when the
 * shim is usable; 0 otherwise, with a reason in the error queue. Call it first in every export
 * that creates OpenSSL objects, so their creation is counted. */
int fastsession_init(void);

/* Takes a process-lifetime X509 (the cached default trust, verify.c) out of the live counts, so the
 * counts keep meaning "objects that must be freed". */
void fastsession_uncount_x509(X509* cert);

/* ---- context.c ------------------------------------------------------------------------------ */

typedef struct fs_ctx_data {
    uint64_t id;
    int32_t is_server;
    unsigned char* alpn;   /* server: preference list (wire format), client: unused */
    unsigned int alpn_len;
    int32_t verify_flags;  /* FS_VERIFY_* (verify.c) */
    struct fs_sni_entry* sni; /* server: per-name child contexts (server.c) */
    int32_t sni_count;
} fs_ctx_data;

fs_ctx_data* fastsession_ctx_get_data(const SSL_CTX* ctx);
uint64_t fastsession_ctx_id(const SSL_CTX* ctx);

/* OpenSSL's new-session callback (SSL_CTX_sess_set_new_cb): moves the session into the ring. */
int fastsession_new_session_cb(SSL* ssl, SSL_SESSION* session);

/* ---- connection.c --------------------------------------------------------------------------- */

/* observe.c: what the ticket callbacks recorded on one connection (cleared by SslClear). */
typedef struct fs_conn_observe {
    int32_t ticket_status;
    int32_t ticket_expired;
    int32_t tickets_sent;
} fs_conn_observe;

/* server_cache.c: the session lookup a paused handshake waits for (cleared by SslClear). */
#define FS_LOOKUP_STATE_NONE 0
#define FS_LOOKUP_STATE_PENDING 1
#define FS_LOOKUP_STATE_ANSWERED 2
typedef struct fs_conn_lookup {
    int32_t state;
    int32_t kind;
    int32_t key_len;
    unsigned char key[SSL_MAX_SSL_SESSION_ID_LENGTH];
    SSL_SESSION* session; /* owned: what the store answered, offered by the get-session callback */
} fs_conn_lookup;

/* early_data.c: the server's early-data decision and what the client sent (cleared by SslClear). */
typedef struct fs_conn_early {
    int32_t decision;      /* FS_EARLY_DECISION_* */
    int32_t deny_reason;
    int32_t allow_cb_ran;
    int32_t offered;       /* client: bytes written as early data; server: the extension was seen */
    int32_t identity_len;
    unsigned char identity_hash[FS_EARLY_IDENTITY_HASH];
} fs_conn_early;

/* The new-session queue: a ring that starts inline (FS_NEW_SESSION_RING_CAPACITY) and doubles on
 * the heap as tickets arrive faster than managed code takes them, up to FS_NEW_SESSION_QUEUE_MAX.
 * Only past that bound is the oldest session freed, and `dropped` counts it: never a silent drop. */
typedef struct fs_conn_data {
    SSL_SESSION* inline_ring[FS_NEW_SESSION_RING_CAPACITY];
    SSL_SESSION** ring;      /* inline_ring, or an OPENSSL_malloc'd array of `capacity` slots */
    int32_t capacity;        /* a power of two */
    int32_t head;            /* index of the oldest session */
    int32_t count;
    int32_t dropped;
    int32_t established;     /* sessions captured since the current engine call began */
    int32_t is_server;
    /* verify.c: what the certificate verify callback recorded */
    STACK_OF(X509)* verify_chain;
    int32_t verify_ran;
    int32_t verify_error;
    int32_t verify_depth;
    int32_t verify_policy;
    int32_t verify_pending;
    int32_t verify_decision; /* 0 none, 1 accept, 2 reject */
    fs_conn_observe observe; /* observe.c */
    fs_conn_lookup lookup;   /* server_cache.c */
    fs_conn_early early;     /* early_data.c */
} fs_conn_data;

/* Points an allocated (zeroed) fs_conn_data at its inline ring. */
void fastsession_conn_init(fs_conn_data* conn);
/* Frees the heap ring if any (after fastsession_conn_ring_clear). */
void fastsession_conn_release(fs_conn_data* conn);

fs_conn_data* fastsession_conn_get_data(const SSL* ssl);
void fastsession_conn_ring_clear(fs_conn_data* conn);

/* ---- verify.c ------------------------------------------------------------------------------- */

/* Releases what verification recorded on the connection (SslClear, SSL_free). */
void fastsession_verify_clear(fs_conn_data* conn);
/* Client with FS_VERIFY_CHECK_NAME: the name the certificate must match (SSL_set1_host, or the
 * IP address check for an IP literal). Returns 1 on success (also when nothing is to be done). */
int fastsession_verify_set_name(SSL* ssl, const char* name);
/* Whether name is an IPv4/IPv6 literal: checked against iPAddress entries, never sent as SNI (RFC 6066). */
int fastsession_is_ip_literal(const char* name);

/* ---- server.c ------------------------------------------------------------------------------- */

/* Frees the per-name child contexts of a server context (ctx ex_data free). */
void fastsession_sni_free(fs_ctx_data* data);
/* Servername callback body: switches to a registered child context. Returns 1 when one matched. */
int fastsession_sni_select(SSL* ssl, const char* name);
/* ---- observe.c ------------------------------------------------------------------------------ */

/* Servers: installs SSL_CTX_set_session_ticket_cb (records, decides as OpenSSL's default). Returns 1 or 0. */
int fastsession_observe_install(SSL_CTX* ctx);
/* Counts a session the new-session callback captured (and a ticket when it has one). */
void fastsession_observe_session_captured(const SSL_SESSION* session);
/* Forgets what was recorded on the connection (SSL_clear). */
void fastsession_observe_clear(fs_conn_data* conn);

/* ---- server_cache.c ------------------------------------------------------------------------- */

/* Frees the provided session and forgets the lookup (SSL_clear, SSL_free). */
void fastsession_server_cache_clear(fs_conn_data* conn);

/* ---- early_data.c ------------------------------------------------------------------------- */

/* Forgets the connection's early-data record (SSL_clear). */
void fastsession_early_data_clear(fs_conn_data* conn);

/* ---- connection.c: the engine step's two halves, shared with early_data.c ---------------------- */

int fastsession_io_begin(SSL* ssl, const uint8_t* in, int32_t in_len, fs_io_result* result);
int32_t fastsession_io_end(SSL* ssl, int ret, int ssl_error, uint8_t* out, int32_t out_cap, fs_io_result* result);

/* ---- session.c ------------------------------------------------------------------------------ */

uint64_t fastsession_session_ctx_id(const SSL_SESSION* session);
/* Stamps an unbound session; returns FS_OK, or FS_ERR_WRONG_CONTEXT when bound to another id. */
int32_t fastsession_session_bind(SSL_SESSION* session, uint64_t ctx_id);

/* The cache mark (session.c): the id of the context whose internal cache the session is or may be in.
 * OpenSSL links a cached session into its context's list (prev, next, owner) and gives no way to ask
 * whether it still is; SSL_SESSION_set_time/_timeout relink it through s->owner, racing the removals
 * the engine makes on its own, and SSL_CTX_add_session into a second context corrupts the first list.
 * So the shim marks every session that can reach a cache before any managed handle to it exists:
 * AddSession marks what it adds; the engine marks the current session of a server connection after
 * each engine call and every session a server hands to the new-session ring (only server sessions
 * enter a cache inside the engine: client contexts never store internally). The mark is sticky; a
 * true copy (SslSessionDup) starts unmarked, as OpenSSL gives it no owner. */
uint64_t fastsession_session_cache_ctx(const SSL_SESSION* session);
void fastsession_session_mark_cached(SSL_SESSION* session, uint64_t ctx_id);
/* Marks the current session of a server connection (no-op on clients and when already marked). */
void fastsession_mark_server_session(SSL* ssl);

/* The session-owner guard (session.c). SSL_SESSION_set_time/_timeout follow the session's owner
 * pointer (the SSL_CTX whose cache holds it) without a reference; the final SSL_CTX_free flushes that
 * cache and frees the context. Every call that may drop the last SSL_CTX reference (SSL_CTX_free,
 * SSL_free) runs under the guard's shared side, and the owner-following calls under its exclusive
 * side, so an owner pointer read by set_time can never be freed while it is used.
 * Since the cache mark (below), set_time only runs on sessions that were never linked (no owner to
 * follow); the exclusive side still orders its mark check after any AddSession's mark-and-link.
 * Lock order: the guard first, then OpenSSL's own locks (ctx->lock); nothing takes the guard while
 * holding an OpenSSL lock. */
int fastsession_owner_guard_init(void);
void fastsession_ctx_free_guarded(SSL_CTX* ctx);
void fastsession_ssl_free_guarded(SSL* ssl);
/* Shared side of the same guard for the calls that unlink sessions from a context's cache
 * (SSL_CTX_flush_sessions, SSL_CTX_add_session, SSL_CTX_remove_session). OpenSSL 3.0's set_time /
 * set_timeout read the owner pointer outside the owner's lock and then relink the session into its
 * list: a removal between the two would link a session the cache no longer references (later a
 * use-after-free, or a flush that never ends). Returns 0 when the guard cannot be taken. */
int fastsession_owner_guard_enter_shared(void);
void fastsession_owner_guard_exit(void);

/* ---- errors.c ------------------------------------------------------------------------------- */

/* Raises an argument error (ERR_LIB_SSL, ERR_R_PASSED_INVALID_ARGUMENT) with a short detail so
 * the caller finds a reason in the queue. */
void fastsession_raise_argument(const char* detail);

/* A pem_password_cb that refuses: encrypted PEM input fails with an error instead of OpenSSL's
 * default callback prompting for a pass phrase on the terminal (a library must never block on stdin). */
int fastsession_no_passphrase(char* buf, int size, int rwflag, void* userdata);

/* Copies the contents of a memory BIO into buf with the needed-size two-call contract. */
int32_t fastsession_copy_mem_bio(BIO* bio, uint8_t* buf, int32_t cap, int32_t* needed);

/* The needed-size contract for i2d-style encoders: len is the encoded size (<= 0 = failure). */
int32_t fastsession_check_capacity(int len, const uint8_t* buf, int32_t cap, int32_t* needed);

#endif /* FASTSESSION_INTERNAL_H */
