/*
 * fastsession_shim.h — the C surface FastSession's managed code calls.
 *
 * Conventions (after dotnet/runtime's pal_ssl.h):
 *  - Every export is FastSessionNative_<PascalCasedOpenSslName>; Get0 (borrowed) and Get1
 *    (owned, caller frees once) stay in the names.
 *  - Anything that can fail starts with ERR_clear_error(); the caller may read the reason with
 *    FastSessionNative_ErrGetError + FastSessionNative_ErrErrorStringN right after a failure,
 *    on the same thread.
 *    Pure getters say "No error queue impact."
 *  - No export calls back into managed code. The new-session callback and the ALPN selection
 *    callback are C functions inside the shim; captured sessions wait in a per-connection ring
 *    until the caller drains them after the I/O call returns.
 *  - Every struct and constant here is mirrored in C# (src/FastSession/Interop/ShimTypes.cs);
 *    src/abi_checks.c pins their sizes and offsets with _Static_assert, the managed tests pin
 *    the same numbers with Unsafe.SizeOf / Marshal.OffsetOf.
 *  - Pointers handed out are opaque SSL_CTX*, SSL*, SSL_SESSION*, X509* of the system OpenSSL 3.
 */
#ifndef FASTSESSION_SHIM_H
#define FASTSESSION_SHIM_H

#include <stdint.h>

#if defined(__GNUC__)
#define FS_EXPORT __attribute__((visibility("default")))
#else
#define FS_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct ssl_session_st SSL_SESSION;
typedef struct x509_st X509;

/* ---- Constants mirrored in C# (ShimConstants) ------------------------------------------ */

/* Protocol versions, as OpenSSL's TLS1_2_VERSION / TLS1_3_VERSION. */
#define FS_TLS1_2 0x0303
#define FS_TLS1_3 0x0304

/* Status codes returned by shim calls that can fail (negative = failure). */
#define FS_OK 1
#define FS_ERR_OPENSSL (-1)        /* OpenSSL failed; reason in the error queue */
#define FS_ERR_WRONG_CONTEXT (-2)  /* session belongs to another SSL_CTX (seed: one SSL_CTX per session) */
#define FS_ERR_ARGUMENT (-3)       /* NULL pointer, negative length, unknown option */
#define FS_ERR_BUFFER_TOO_SMALL (-4) /* nothing written; the needed size is in the out-parameter */
#define FS_ERR_NOT_RESUMABLE (-5)  /* SetSession refused a session SSL_SESSION_is_resumable() rejects */
#define FS_ERR_SESSION_CACHED (-6) /* SetTime/SetTimeout refused a session that is or may be in a context's cache */

/* SSL_get_error values the managed engine acts on (same numbers as OpenSSL's). */
#define FS_SSL_ERROR_NONE 0
#define FS_SSL_ERROR_SSL 1
#define FS_SSL_ERROR_WANT_READ 2
#define FS_SSL_ERROR_WANT_WRITE 3
#define FS_SSL_ERROR_SYSCALL 5
#define FS_SSL_ERROR_ZERO_RETURN 6

/* Initial (inline) capacity of the per-connection queue of sessions captured by the new-session
 * callback. The queue doubles as needed up to FS_NEW_SESSION_QUEUE_MAX sessions waiting at once
 * (one peer flight of thousands of TLS 1.3 tickets is delivered whole); only past that bound is
 * the oldest waiting session freed, and FastSessionNative_SslGetDroppedSessionCount counts it. */
#define FS_NEW_SESSION_RING_CAPACITY 8
#define FS_NEW_SESSION_QUEUE_MAX 65536

/* Peer verification flags for FastSessionNative_SslCtxSetVerify. */
#define FS_VERIFY_PEER 1                     /* SSL_VERIFY_PEER (client: the server; server: request a client certificate) */
#define FS_VERIFY_REQUIRE_PEER_CERTIFICATE 2 /* server: SSL_VERIFY_FAIL_IF_NO_PEER_CERT */
#define FS_VERIFY_DEFAULT_PATHS 4            /* SSL_CTX_set_default_verify_paths (honours SSL_CERT_FILE / SSL_CERT_DIR) */
#define FS_VERIFY_CHECK_NAME 8               /* client: check the connection's server name (SSL_set1_host / IP) */
#define FS_VERIFY_DEFER 16                   /* client: pause for the caller's verdict (SSL_set_retry_verify) */

/* Classes of verification errors, the values of .NET's SslPolicyErrors. */
#define FS_VERIFY_POLICY_NOT_AVAILABLE 1
#define FS_VERIFY_POLICY_NAME_MISMATCH 2
#define FS_VERIFY_POLICY_CHAIN_ERRORS 4

/* SSL_get_error when a paused verification waits for FastSessionNative_SslSetVerifyDecision. */
#define FS_SSL_ERROR_WANT_RETRY_VERIFY 12

/* server_cache.c: SSL_get_error when the handshake paused for a session lookup
 * (SSL_ERROR_WANT_CLIENT_HELLO_CB); kinds of lookup keys; the cache-mode flags the shim passes on. */
#define FS_SSL_ERROR_WANT_CLIENT_HELLO_CB 11
#define FS_SESSION_LOOKUP_NONE 0
#define FS_SESSION_LOOKUP_SESSION_ID 1
#define FS_SESSION_LOOKUP_PSK_IDENTITY 2
#define FS_SESS_CACHE_NO_INTERNAL_LOOKUP 0x0100
#define FS_SESS_CACHE_NO_INTERNAL_STORE 0x0200

#define FS_SESSION_ID_MAX 32
#define FS_CIPHER_NAME_MAX 64
#define FS_SNI_MAX 256
#define FS_ALPN_MAX 256

/* ---- Blittable structs ------------------------------------------------------------------ */

/* Options for FastSessionNative_SslCtxCreate: one call configures the whole context, including
 * the session cache (pal_ssl's one-export-per-cache idea). Zero means "OpenSSL default" for
 * every numeric field except where noted. */
typedef struct fs_ctx_options {
    int32_t is_server;            /* 1 = server (SSL_SESS_CACHE_SERVER), 0 = client */
    int32_t min_version;          /* FS_TLS1_2 / FS_TLS1_3; 0 = FS_TLS1_2 */
    int32_t max_version;          /* FS_TLS1_2 / FS_TLS1_3; 0 = FS_TLS1_3 */
    int32_t tickets_enabled;      /* 0 sets SSL_OP_NO_TICKET (TLS1.2: session ids only) */
    int32_t num_tickets;          /* server, TLS 1.3: SSL_CTX_set_num_tickets; -1 = default (2),
                                     0 = no tickets (so no TLS 1.3 resumption) */
    int32_t session_cache_size;   /* SSL_CTX_sess_set_cache_size; 0 = default */
    int64_t session_timeout_seconds; /* SSL_CTX_set_timeout; 0 = default */
    int32_t capture_new_sessions; /* 1: install the shim's new-session callback (client: also
                                     SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE) */
    int32_t verify_peer;          /* legacy, client: SSL_VERIFY_PEER with OpenSSL's own callback
                                     (chain only). FastSession passes 0 and configures
                                     verification with FastSessionNative_SslCtxSetVerify. */
} fs_ctx_options;

/* Result of one batched engine call (handshake / read / write / shutdown flight). */
typedef struct fs_io_result {
    int32_t ret;             /* return value of the OpenSSL call (SSL_do_handshake, SSL_read_ex ...) */
    int32_t ssl_error;       /* SSL_get_error(ssl, ret) when ret <= 0, else FS_SSL_ERROR_NONE */
    int32_t bytes_consumed;  /* ciphertext bytes taken from `in` (always all of it: BIO_write) */
    int32_t bytes_produced;  /* ciphertext bytes written to `out` */
    int32_t pending_output;  /* ciphertext still waiting in the write BIO (drain with SslDrainOutput) */
    int32_t plaintext_bytes; /* read: plaintext written to the caller; write: plaintext accepted */
    int32_t new_sessions;    /* sessions established (captured by the new-session callback) during this call */
    int32_t handshake_done;  /* SSL_is_init_finished */
    uint64_t error_code;     /* ERR_peek_last_error() when the call failed, else 0 */
} fs_io_result;

/* Snapshot of an SSL_SESSION, filled by one call (FastSessionNative_SslSessionGetInfo). */
typedef struct fs_session_info {
    uint8_t id[FS_SESSION_ID_MAX];   /* SSL_SESSION_get_id */
    int32_t id_length;
    int32_t protocol_version;        /* SSL_SESSION_get_protocol_version */
    uint32_t cipher_id;              /* SSL_CIPHER_get_protocol_id (IANA two-byte value) */
    int32_t resumable;               /* SSL_SESSION_is_resumable */
    int64_t time;                    /* SSL_SESSION_get_time (seconds since epoch) */
    int64_t timeout;                 /* SSL_SESSION_get_timeout (seconds) */
    uint32_t ticket_lifetime_hint;   /* SSL_SESSION_get_ticket_lifetime_hint */
    int32_t has_ticket;              /* SSL_SESSION_has_ticket */
    uint32_t max_early_data;         /* SSL_SESSION_get_max_early_data */
    int32_t sni_length;
    int32_t alpn_length;
    int32_t cipher_name_length;
    uint64_t context_id;             /* FastSession context id the session is bound to, 0 = none */
    char cipher_name[FS_CIPHER_NAME_MAX]; /* SSL_CIPHER_get_name, not NUL-terminated if full */
    char sni[FS_SNI_MAX];            /* SSL_SESSION_get0_hostname */
    uint8_t alpn[FS_ALPN_MAX];       /* SSL_SESSION_get0_alpn_selected */
} fs_session_info;

/* Live objects (created minus freed) of each kind, counted through ex_data new/free callbacks,
 * so OpenSSL-internal copies count too. Counting starts at the shim's first call that creates
 * objects or reads the counts (objects older than that are never counted, nor subtracted), and
 * covers every object of the process made after it, also those of other OpenSSL users in the
 * same process (e.g. SslStream's). */
typedef struct fs_live_counts {
    int64_t contexts;
    int64_t connections;
    int64_t sessions;
    int64_t certificates; /* live X509 objects */
} fs_live_counts;

/* ---- Errors -------------------------------------------------------------------------------- */

/* Shims ERR_get_error. Pops the earliest error of this thread's queue; 0 when empty. */
FS_EXPORT uint64_t FastSessionNative_ErrGetError(void);

/* Shims ERR_error_string_n. Writes a NUL-terminated reason into buf (cap bytes, may truncate).
 * Returns the string length. No error queue impact. */
FS_EXPORT int32_t FastSessionNative_ErrErrorStringN(uint64_t error, char* buf, int32_t cap);

/* Shims ERR_clear_error. */
FS_EXPORT void FastSessionNative_ErrClearError(void);

/* ---- Accounting ---------------------------------------------------------------------------- */

/* Fills counts with the live object numbers. No error queue impact. */
FS_EXPORT void FastSessionNative_GetLiveCounts(fs_live_counts* counts);

/* Returns sizeof of the mirrored structs so managed code can check its layout at start-up:
 * which: 0 fs_ctx_options, 1 fs_io_result, 2 fs_session_info, 3 fs_live_counts. -1 unknown. */
FS_EXPORT int32_t FastSessionNative_GetStructSize(int32_t which);

/* ---- Contexts (SSL_CTX) -------------------------------------------------------------------- */

/* Shims SSL_CTX_new(TLS_server_method()/TLS_client_method()) and applies every option (protocol
 * range, tickets, cache mode/size/timeout, new-session capture, session id context; servers also
 * acknowledge any SNI name so both sides' sessions record it).
 * Assigns a process-unique 64-bit context id (a counter, never an address) written to *ctx_id.
 * Returns an owned SSL_CTX* (free with FastSessionNative_SslCtxFree) or NULL on failure. */
FS_EXPORT SSL_CTX* FastSessionNative_SslCtxCreate(const fs_ctx_options* options, uint64_t* ctx_id);

/* Shims SSL_CTX_free. Sessions captured from this context stay valid (they hold references). */
FS_EXPORT void FastSessionNative_SslCtxFree(SSL_CTX* ctx);

/* Returns the context id assigned by SslCtxCreate, 0 for a context not made by the shim.
 * No error queue impact. */
FS_EXPORT uint64_t FastSessionNative_SslCtxGetId(const SSL_CTX* ctx);

/* Shims SSL_CTX_use_certificate (+ chain) and SSL_CTX_use_PrivateKey from PEM bytes in memory,
 * then SSL_CTX_check_private_key. Returns FS_OK or FS_ERR_OPENSSL / FS_ERR_ARGUMENT. */
FS_EXPORT int32_t FastSessionNative_SslCtxUseCertificateAndKeyPem(SSL_CTX* ctx,
    const uint8_t* cert_pem, int32_t cert_len, const uint8_t* key_pem, int32_t key_len);

/* Generates an ECDSA P-256 key and a self-signed certificate for common_name (valid from one
 * hour ago for days_valid days; subjectAltName DNS:common_name) and installs both on ctx.
 * Returns FS_OK, FS_ERR_ARGUMENT or FS_ERR_OPENSSL. */
FS_EXPORT int32_t FastSessionNative_SslCtxUseEphemeralCertificate(SSL_CTX* ctx,
    const char* common_name, int32_t days_valid);

/* Writes the context's certificate as PEM into buf. Returns the length written, or
 * FS_ERR_BUFFER_TOO_SMALL with *needed set, or FS_ERR_ARGUMENT when no certificate is set. */
FS_EXPORT int32_t FastSessionNative_SslCtxGetCertificatePem(SSL_CTX* ctx, uint8_t* buf,
    int32_t cap, int32_t* needed);

/* Client: trusts the PEM certificate(s) for SSL_VERIFY_PEER. Returns FS_OK or an error. */
FS_EXPORT int32_t FastSessionNative_SslCtxAddTrustedCertificatePem(SSL_CTX* ctx,
    const uint8_t* pem, int32_t len);

/* ALPN. Client: SSL_CTX_set_alpn_protos with wire-format protos. Server: stores the list and
 * installs the shim's selection callback (server preference, SSL_select_next_proto).
 * Returns FS_OK or an error. */
FS_EXPORT int32_t FastSessionNative_SslCtxSetAlpnProtos(SSL_CTX* ctx, const uint8_t* wire,
    int32_t len);

/* Shims SSL_CTX_flush_sessions(ctx, time): removes sessions expired at `time` (seconds since
 * the epoch; 0 = every session) from the context's internal cache, marking them non-resumable.
 * No error queue impact. */
FS_EXPORT void FastSessionNative_SslCtxFlushSessions(SSL_CTX* ctx, int64_t time);

/* Shims SSL_CTX_sess_number (a macro): sessions in the internal cache. No error queue impact. */
FS_EXPORT int64_t FastSessionNative_SslCtxSessNumber(SSL_CTX* ctx);

/* Shims SSL_CTX_add_session / SSL_CTX_remove_session (server cache manipulation for tests and
 * tools). Return 1 on success, 0 otherwise. AddSession returns FS_ERR_WRONG_CONTEXT, adding nothing,
 * for a session bound to another context or marked as (maybe) in another context's cache: one
 * SSL_SESSION lives in one SSL_CTX's list (SSL_CTX_add_session would unlink it from the first list with
 * the second's sentinels). What it adds is marked as cached, for good (FS_ERR_SESSION_CACHED below). */
FS_EXPORT int32_t FastSessionNative_SslCtxAddSession(SSL_CTX* ctx, SSL_SESSION* session);
FS_EXPORT int32_t FastSessionNative_SslCtxRemoveSession(SSL_CTX* ctx, SSL_SESSION* session);

/* ---- Connections (SSL over two memory BIOs) ------------------------------------------------ */

/* Shims SSL_new + two memory BIOs (SSL_set_bio) + SSL_set_connect_state/SSL_set_accept_state
 * (by the context's role) + SSL_set_tlsext_host_name when server_name is non-NULL (client).
 * Allocates the new-session ring (ex_data). Returns an owned SSL* or NULL. */
FS_EXPORT SSL* FastSessionNative_SslCreate(SSL_CTX* ctx, const char* server_name);

/* Shims SSL_free (which frees the BIOs, and every session still in the ring). Without a prior
 * clean shutdown OpenSSL removes the session from the cache and marks it non-resumable. */
FS_EXPORT void FastSessionNative_SslFree(SSL* ssl);

/* Shims SSL_clear for reuse of the object, also emptying both memory BIOs and the ring and
 * restoring the connect/accept state. Sets a new SNI when server_name is non-NULL. The session
 * SSL_clear keeps after a clean shutdown is dropped too (SSL_set_session(ssl, NULL)): the next
 * handshake resumes only after FastSessionNative_SslSetSession.
 * Returns FS_OK or FS_ERR_OPENSSL (FS_ERR_ARGUMENT for NULL). */
FS_EXPORT int32_t FastSessionNative_SslClear(SSL* ssl, const char* server_name);

/* One handshake flight: BIO_write(in) → SSL_do_handshake → drain up to out_cap ciphertext bytes
 * into out. Everything the caller needs is in *result; never blocks. Returns result->ret.
 * For all four engine calls: invalid arguments (NULL ssl, negative length, NULL buffer with a
 * non-zero length) give result->ret = FS_ERR_ARGUMENT, ssl_error = FS_SSL_ERROR_SSL and a reason
 * in error_code; a NULL result gives just the FS_ERR_ARGUMENT return. */
FS_EXPORT int32_t FastSessionNative_SslDoHandshake(SSL* ssl, const uint8_t* in, int32_t in_len,
    uint8_t* out, int32_t out_cap, fs_io_result* result);

/* One read: BIO_write(in) → SSL_read_ex into plain (plain_cap) → drain ciphertext the read
 * produced (alerts, key updates) into out. Post-handshake messages such as TLS 1.3
 * NewSessionTicket are processed here; their sessions land in the ring (result->new_sessions).
 * SSL_read_ex is repeated while input is buffered and plain has room, so one call returns the
 * plaintext of several records. result->plaintext_bytes is what was decrypted, valid whatever
 * ret says: plaintext followed by "need more input" is ret 1; plaintext followed by close_notify
 * or a fatal error comes with that error (ZERO_RETURN / SSL). plain_cap 0 (plain may be NULL)
 * processes records without consuming application data (SSL_peek_ex): ret 1 = data waiting.
 * Returns result->ret. */
FS_EXPORT int32_t FastSessionNative_SslRead(SSL* ssl, const uint8_t* in, int32_t in_len,
    uint8_t* plain, int32_t plain_cap, uint8_t* out, int32_t out_cap, fs_io_result* result);

/* One write: SSL_write_ex(plain) → drain ciphertext into out. plain_len 0 only drains (ret 1).
 * Returns result->ret. */
FS_EXPORT int32_t FastSessionNative_SslWrite(SSL* ssl, const uint8_t* plain, int32_t plain_len,
    uint8_t* out, int32_t out_cap, fs_io_result* result);

/* Shims SSL_shutdown (sends close_notify) and drains ciphertext into out. Returns result->ret
 * (0 = close_notify sent, peer's not yet seen, ssl_error NONE; 1 = both; < 0 = failure, e.g.
 * during the handshake). The peer's close_notify arrives through SslRead (ZERO_RETURN). */
FS_EXPORT int32_t FastSessionNative_SslShutdown(SSL* ssl, uint8_t* out, int32_t out_cap,
    fs_io_result* result);

/* Like FastSessionNative_SslShutdown, after feeding `in` (the peer's bytes, e.g. its close_notify)
 * to the read BIO: ret 1 = both close_notify sent and received. */
FS_EXPORT int32_t FastSessionNative_SslShutdownWithInput(SSL* ssl, const uint8_t* in, int32_t in_len,
    uint8_t* out, int32_t out_cap, fs_io_result* result);

/* Copies up to out_cap pending ciphertext bytes from the write BIO. Returns the count.
 * No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslDrainOutput(SSL* ssl, uint8_t* out, int32_t out_cap);

/* Bytes of ciphertext waiting in the write BIO. No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslPendingOutput(SSL* ssl);

/* Moves up to cap captured sessions (oldest first) out of the ring into sessions[]; the caller
 * owns each (free with FastSessionNative_SslSessionFree). Returns the count. No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslTakeNewSessions(SSL* ssl, SSL_SESSION** sessions, int32_t cap);

/* Shims SSL_new_session_ticket (server, TLS 1.3, after the handshake): asks for one more ticket,
 * sent by the next engine call (SslDoHandshake or SslWrite). Returns FS_OK, or FS_ERR_OPENSSL with
 * the reason queued (not a server, not TLS 1.3, handshake not finished). */
FS_EXPORT int32_t FastSessionNative_SslNewSessionTicket(SSL* ssl);

/* Sessions dropped because FS_NEW_SESSION_QUEUE_MAX sessions were already waiting (freed by the
 * shim), since the connection was created or last cleared. No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslGetDroppedSessionCount(SSL* ssl);

/* Shims SSL_session_reused. No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslSessionReused(SSL* ssl);

/* Shims SSL_version (negotiated protocol). No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslVersion(SSL* ssl);

/* Shims SSL_is_init_finished. No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslIsInitFinished(SSL* ssl);

/* Shims SSL_get_shutdown (SSL_SENT_SHUTDOWN = 1, SSL_RECEIVED_SHUTDOWN = 2). No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslGetShutdown(SSL* ssl);

/* Shims SSL_get0_alpn_selected: copies the selected protocol into buf. Returns its length
 * (0 = none), FS_ERR_BUFFER_TOO_SMALL when cap is less. No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslGet0AlpnSelected(SSL* ssl, uint8_t* buf, int32_t cap);

/* ---- Verification (verify.c) ---------------------------------------------------------------- */

/* Configures peer verification (FS_VERIFY_* flags): SSL_CTX_set_verify with the shim's certificate
 * verify callback (SSL_CTX_set_cert_verify_callback), which records the first error, its depth, the
 * error classes and the chain on the connection. FS_VERIFY_DEFAULT_PATHS trusts OpenSSL's default
 * verify paths (what SSL_CTX_set_default_verify_paths trusts: the SSL_CERT_FILE / SSL_CERT_DIR
 * environment variables when set, else the system bundle and directory); the bundle is parsed
 * once per process and shared by reference, the directory is a lazy per-context lookup.
 * Returns FS_OK, FS_ERR_ARGUMENT or FS_ERR_OPENSSL. */
FS_EXPORT int32_t FastSessionNative_SslCtxSetVerify(SSL_CTX* ctx, int32_t flags);

/* Shims SSL_CTX_load_verify_file / SSL_CTX_load_verify_dir (either may be NULL, not both).
 * Returns FS_OK, FS_ERR_ARGUMENT or FS_ERR_OPENSSL. */
FS_EXPORT int32_t FastSessionNative_SslCtxLoadVerifyLocations(SSL_CTX* ctx, const char* file, const char* dir);

/* Server: SSL_CTX_add_client_CA for every certificate of the PEM text (the names sent in the
 * CertificateRequest). Returns FS_OK or an error. */
FS_EXPORT int32_t FastSessionNative_SslCtxAddClientCaPem(SSL_CTX* ctx, const uint8_t* pem, int32_t len);

/* What the verify callback recorded on this connection: *error (X509_V_*, the first error),
 * *depth (-1 none) and *policy (FS_VERIFY_POLICY_* bits). Returns 0 when no verification ran,
 * 1 when it ran, 2 when it waits for FastSessionNative_SslSetVerifyDecision. No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslGetVerifyStatus(SSL* ssl, int32_t* error, int32_t* depth, int32_t* policy);

/* Certificates of the recorded chain (leaf first). No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslGetVerifyChainLength(SSL* ssl);

/* i2d_X509 of the recorded chain's certificate at index. Same return contract as I2dSslSession;
 * FS_ERR_ARGUMENT for an index out of range. */
FS_EXPORT int32_t FastSessionNative_SslGetVerifyChainCertificate(SSL* ssl, int32_t index, uint8_t* buf,
    int32_t cap, int32_t* needed);

/* The caller's verdict for a paused verification (accept != 0 accepts); the next handshake call
 * applies it. Returns FS_OK, or FS_ERR_ARGUMENT when nothing is waiting. */
FS_EXPORT int32_t FastSessionNative_SslSetVerifyDecision(SSL* ssl, int32_t accept);

/* Shims X509_verify_cert_error_string into buf (NUL-terminated, may truncate). Returns the length.
 * No error queue impact. */
FS_EXPORT int32_t FastSessionNative_X509VerifyCertErrorString(int32_t error, char* buf, int32_t cap);

/* The names the recorded leaf certificate is valid for, as text: its subjectAltName ("DNS:a, IP
 * Address:127.0.0.1") or, without one, its subject. NUL-terminated, may truncate. Returns the length
 * (0 = no certificate recorded). */
FS_EXPORT int32_t FastSessionNative_SslGetVerifyPeerNames(SSL* ssl, char* buf, int32_t cap);

/* Shims SSL_get_verify_result. No error queue impact. */
FS_EXPORT int64_t FastSessionNative_SslGetVerifyResult(SSL* ssl);

/* ---- Server side (server.c) ------------------------------------------------------------------ */

/* Shims SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name): copies the name a server connection
 * received (or a client sends) into buf. Returns its length, 0 = none, FS_ERR_BUFFER_TOO_SMALL.
 * No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslGetServername(SSL* ssl, char* buf, int32_t cap);

/* Shims SSL_set_num_tickets (TLS 1.3 tickets this server connection sends after its handshake).
 * Returns FS_OK or FS_ERR_ARGUMENT / FS_ERR_OPENSSL. */
FS_EXPORT int32_t FastSessionNative_SslSetNumTickets(SSL* ssl, int32_t count);

/* Shims SSL_get_num_tickets. No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslGetNumTickets(SSL* ssl);

/* Shims SSL_SESSION_dup: a new, independent SSL_SESSION with the same contents (and context id),
 * in no cache (OpenSSL clears its owner; the shim clears its cache mark): free to re-time and add.
 * Owned: free once with FastSessionNative_SslSessionFree. NULL on failure. */
FS_EXPORT SSL_SESSION* FastSessionNative_SslSessionDup(const SSL_SESSION* session);

/* Registers child (a server context with its own certificate) for SNI host name `name` on the
 * server context parent ("*.example" matches one label). The parent's servername callback
 * switches a connection to the child with SSL_set_SSL_CTX; sessions and tickets stay the
 * parent's (one session id context, the parent's cache and ticket keys), and the child takes the
 * parent's context id so sessions stay bound to one FastSession context. parent takes a reference
 * on child. Returns FS_OK, FS_ERR_ARGUMENT or FS_ERR_OPENSSL. */
FS_EXPORT int32_t FastSessionNative_SslCtxAddServerNameContext(SSL_CTX* parent, const char* name, SSL_CTX* child);

/* ---- Sessions ----------------------------------------------------------------------------- */

/* Shims SSL_get0_session (a macro for SSL_get_session in OpenSSL 3). Borrowed: the pointer is
 * valid only until the next operation that may change the connection's session (handshake,
 * read, SSL_set_session, SSL_clear, SSL_free). NULL = no session. No locks, no callbacks.
 * No error queue impact. */
FS_EXPORT SSL_SESSION* FastSessionNative_SslGet0Session(const SSL* ssl);

/* Shims SSL_get1_session. Owned: the reference count was incremented; the caller frees exactly
 * once with FastSessionNative_SslSessionFree. Stamps the session with the connection's context
 * id when it has none. NULL = no session. Takes OpenSSL's lock. No error queue impact (it cannot
 * fail with a reason; ERR_clear_error alone cost ~160 ns per call here). */
FS_EXPORT SSL_SESSION* FastSessionNative_SslGet1Session(SSL* ssl);

/* Shims SSL_SESSION_up_ref (turns a borrowed pointer into an owned one). Returns 1 or 0. */
FS_EXPORT int32_t FastSessionNative_SslSessionUpRef(SSL_SESSION* session);

/* Shims SSL_SESSION_free: drops one reference. NULL is ignored. */
FS_EXPORT void FastSessionNative_SslSessionFree(SSL_SESSION* session);

/* Shims SSL_set_session after checking the session belongs to the connection's context
 * (FS_ERR_WRONG_CONTEXT otherwise; an unbound session is bound to it) and is resumable
 * (FS_ERR_NOT_RESUMABLE otherwise). The connection takes its own reference; the caller keeps
 * theirs. Returns FS_OK, FS_ERR_WRONG_CONTEXT, FS_ERR_NOT_RESUMABLE, FS_ERR_ARGUMENT (NULL) or
 * FS_ERR_OPENSSL. */
FS_EXPORT int32_t FastSessionNative_SslSetSession(SSL* ssl, SSL_SESSION* session);

/* Shims SSL_SESSION_is_resumable. No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslSessionIsResumable(const SSL_SESSION* session);

/* Returns the context id the session is bound to (0 = unbound). No error queue impact. */
FS_EXPORT uint64_t FastSessionNative_SslSessionGetContextId(const SSL_SESSION* session);

/* Binds an unbound session to a context id. Returns FS_OK, or FS_ERR_WRONG_CONTEXT if it is
 * already bound to another one. No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslSessionSetContextId(SSL_SESSION* session, uint64_t ctx_id);

/* Fills *info with every field of fs_session_info in one call. cipher_name and sni are
 * NUL-terminated when shorter than their buffers; bytes past each *_length are otherwise left
 * as they were. Returns FS_OK or FS_ERR_ARGUMENT. No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslSessionGetInfo(const SSL_SESSION* session, fs_session_info* info);

/* Shims SSL_SESSION_get_protocol_version / SSL_SESSION_get_time / SSL_SESSION_get_timeout:
 * single-field getters (for benchmarks against the batched info call). No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslSessionGetProtocolVersion(const SSL_SESSION* session);
FS_EXPORT int64_t FastSessionNative_SslSessionGetTime(const SSL_SESSION* session);
FS_EXPORT int64_t FastSessionNative_SslSessionGetTimeout(const SSL_SESSION* session);
/* Copies the session id into buf (cap ≥ 32). Returns its length (0 = none), or
 * FS_ERR_BUFFER_TOO_SMALL when cap is less. No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslSessionGetId(const SSL_SESSION* session, uint8_t* buf, int32_t cap);

/* Shims SSL_SESSION_set_time / SSL_SESSION_set_timeout. Return 1, 0 on bad arguments, or
 * FS_ERR_SESSION_CACHED, changing nothing, for a session that is or may be in a context's internal
 * cache: one passed to SslCtxAddSession, or one a server connection created or resumed. OpenSSL 3.0
 * relinks such a session through its owner pointer, read without a lock, after removals the engine
 * makes on its own (a crash or a corrupt cache list). Re-time a copy (SslSessionDup) and add that. */
FS_EXPORT int32_t FastSessionNative_SslSessionSetTime(SSL_SESSION* session, int64_t time);
FS_EXPORT int32_t FastSessionNative_SslSessionSetTimeout(SSL_SESSION* session, int64_t timeout);

/* Shims i2d_SSL_SESSION into buf. Returns the length written, or FS_ERR_BUFFER_TOO_SMALL with
 * *needed set (nothing written), or FS_ERR_OPENSSL. */
FS_EXPORT int32_t FastSessionNative_I2dSslSession(const SSL_SESSION* session, uint8_t* buf,
    int32_t cap, int32_t* needed);

/* Shims d2i_SSL_SESSION, rejecting trailing bytes. Binds the result to ctx_id (0 = unbound).
 * Returns an owned SSL_SESSION* or NULL (reason in the error queue). */
FS_EXPORT SSL_SESSION* FastSessionNative_D2iSslSession(const uint8_t* der, int32_t len, uint64_t ctx_id);

/* Shims PEM_write_bio_SSL_SESSION ("-----BEGIN SSL SESSION PARAMETERS-----", the format of
 * `openssl sess_id` and `s_client -sess_out`). Same return contract as I2dSslSession. */
FS_EXPORT int32_t FastSessionNative_PemWriteSslSession(const SSL_SESSION* session, uint8_t* buf,
    int32_t cap, int32_t* needed);

/* Shims PEM_read_bio_SSL_SESSION (the first session in the text). Binds to ctx_id like D2i.
 * Returns an owned SSL_SESSION* or NULL. */
FS_EXPORT SSL_SESSION* FastSessionNative_PemReadSslSession(const uint8_t* pem, int32_t len, uint64_t ctx_id);

/* Shims SSL_SESSION_print (the text of `openssl sess_id -text`) into buf. Same return contract
 * as I2dSslSession. */
FS_EXPORT int32_t FastSessionNative_SslSessionPrint(const SSL_SESSION* session, uint8_t* buf,
    int32_t cap, int32_t* needed);

/* ---- Peer certificate: the second ownership pair ------------------------------------------ */

/* Shims SSL_get0_peer_certificate. Borrowed: valid while the connection's session is. NULL =
 * none. No error queue impact. */
FS_EXPORT X509* FastSessionNative_SslGet0PeerCertificate(const SSL* ssl);

/* Shims SSL_get1_peer_certificate. Owned: free once with FastSessionNative_X509Free. */
FS_EXPORT X509* FastSessionNative_SslGet1PeerCertificate(const SSL* ssl);

/* Shims X509_up_ref. Returns 1 or 0. */
FS_EXPORT int32_t FastSessionNative_X509UpRef(X509* cert);

/* Shims X509_free. NULL is ignored. */
FS_EXPORT void FastSessionNative_X509Free(X509* cert);

/* Shims i2d_X509. Same return contract as I2dSslSession. */
FS_EXPORT int32_t FastSessionNative_I2dX509(const X509* cert, uint8_t* buf, int32_t cap, int32_t* needed);

/* Shims X509_NAME_oneline(X509_get_subject_name). Returns the length written (NUL-terminated,
 * may truncate). No error queue impact. */
FS_EXPORT int32_t FastSessionNative_X509GetSubjectName(const X509* cert, char* buf, int32_t cap);

/* ---- Observability (observe.c): what the shim records for metrics and resumption reasons ---- */

/* How the server's last ticket decryption on a connection went (SSL_CTX_set_session_ticket_cb's
 * decrypt callback status). NONE: no ticket was presented (or this is a client). */
#define FS_TICKET_STATUS_NONE 0
#define FS_TICKET_STATUS_EMPTY 1            /* SSL_TICKET_EMPTY: the client asked for a ticket, sent none */
#define FS_TICKET_STATUS_NOT_DECRYPTED 2    /* SSL_TICKET_NO_DECRYPT: unknown/retired key or corrupted */
#define FS_TICKET_STATUS_DECRYPTED 3        /* SSL_TICKET_SUCCESS */
#define FS_TICKET_STATUS_DECRYPTED_RENEW 4  /* SSL_TICKET_SUCCESS_RENEW: decrypted with an old key */

/* Per connection, reset by FastSessionNative_SslClear. */
typedef struct fs_resumption_info {
    int32_t ticket_status;   /* FS_TICKET_STATUS_* of the last ticket presented to this server */
    int32_t ticket_expired;  /* 1: the decrypted ticket's session had expired (time + timeout <= now) */
    int32_t tickets_sent;    /* server: tickets generated on this connection */
    int32_t reserved;
} fs_resumption_info;

/* Process-wide, since the shim was loaded: every shim context's sessions and tickets. */
typedef struct fs_observe_counts {
    int64_t sessions_captured;      /* sessions the new-session callback captured (clients) */
    int64_t tickets_received;       /* of those, sessions with a ticket (SSL_SESSION_has_ticket) */
    int64_t tickets_sent;           /* tickets servers generated (TLS 1.2 and each TLS 1.3 ticket) */
    int64_t ticket_empty;           /* decrypt callback statuses, servers */
    int64_t ticket_not_decrypted;
    int64_t ticket_decrypted;
    int64_t ticket_decrypted_renew;
} fs_observe_counts;

/* Fills *info with what the shim recorded on this connection. Returns FS_OK, or FS_ERR_ARGUMENT
 * for NULL or a connection the shim did not create. No error queue impact. */
FS_EXPORT int32_t FastSessionNative_SslGetResumptionInfo(SSL* ssl, fs_resumption_info* info);

/* Fills *counts with the process-wide counters. No error queue impact. */
FS_EXPORT void FastSessionNative_GetObserveCounts(fs_observe_counts* counts);

/* sizeof of the observe structs for the managed layout check: 0 fs_observe_counts,
 * 1 fs_resumption_info; -1 unknown. No error queue impact. */
FS_EXPORT int32_t FastSessionNative_GetObserveStructSize(int32_t which);
/* ---- Session-ticket keys (ticket_keys.c) -------------------------------------------------- */

/* A key ring for SSL_CTX_set_tlsext_ticket_key_evp_cb: [0] encrypts, every entry decrypts until
 * its not_after. Opaque, reference-counted, thread-safe (a read/write lock around the keys). */
typedef struct fs_ticket_keys fs_ticket_keys;

#define FS_TICKET_KEY_NAME_LENGTH 16
#define FS_TICKET_KEYS_MAX 16

/* One key, mirrored in C#. key_size 32: AES-256-CBC + HMAC-SHA256 with 32-byte keys (nginx's
 * 80-byte file: name, hmac, aes); 16: AES-128-CBC + HMAC-SHA256 with 16-byte keys (the 48-byte
 * file: name, aes, hmac). Bytes past key_size are ignored. */
typedef struct fs_ticket_key {
    uint8_t name[FS_TICKET_KEY_NAME_LENGTH];
    uint8_t hmac_key[32];
    uint8_t aes_key[32];
    int32_t key_size;
    int32_t reserved;
    int64_t not_after;   /* seconds since the epoch after which the key neither encrypts nor
                            decrypts; 0 = no limit */
} fs_ticket_key;

/* Outcomes counted by the callback since the ring was made. */
typedef struct fs_ticket_key_counts {
    int64_t issued;   /* tickets encrypted under the current key */
    int64_t resumed;  /* tickets whose key is the current one (decryption started) */
    int64_t renewed;  /* tickets under an older, still valid key: accepted and re-issued */
    int64_t failed;   /* unknown or expired key name (full handshake), or no usable key to encrypt */
} fs_ticket_key_counts;

/* Makes an empty ring (one reference, owned by the caller: FastSessionNative_TicketKeysFree).
 * An empty ring issues no tickets and accepts none. Returns NULL on allocation failure. */
FS_EXPORT fs_ticket_keys* FastSessionNative_TicketKeysNew(void);

/* Drops the caller's reference; contexts the ring is attached to keep theirs. Key material is
 * wiped (OPENSSL_cleanse) when the last reference goes. NULL is ignored. */
FS_EXPORT void FastSessionNative_TicketKeysFree(fs_ticket_keys* ring);

/* Replaces the ring's keys with a copy of keys[0..count) in one step (write lock); the old keys
 * are wiped. The caller keeps (and should wipe) its array. Returns FS_OK, FS_ERR_ARGUMENT (NULL,
 * count outside 1..FS_TICKET_KEYS_MAX, key_size not 16/32) or FS_ERR_OPENSSL (allocation). */
FS_EXPORT int32_t FastSessionNative_TicketKeysInstall(fs_ticket_keys* ring, const fs_ticket_key* keys, int32_t count);

/* Copies the callback's outcome counters. Returns FS_OK or FS_ERR_ARGUMENT. No error queue impact. */
FS_EXPORT int32_t FastSessionNative_TicketKeysGetCounts(const fs_ticket_keys* ring, fs_ticket_key_counts* counts);

/* Rings alive in the process (leak checks). No error queue impact. */
FS_EXPORT int64_t FastSessionNative_TicketKeysGetLiveCount(void);

/* Shims SSL_CTX_set_tlsext_ticket_key_evp_cb with the shim's callback reading `ring` (the context
 * takes its own reference, dropped when the context is freed). The callback returns "renew" (2) for
 * a ticket under an older key, and for every TLS 1.3 resumption so that OpenSSL sends a fresh
 * single-use ticket after it (it sends none otherwise); the counters still tell the two apart.
 * Once per context: rotate by installing keys into the ring. Returns FS_OK, FS_ERR_ARGUMENT (NULL,
 * or a ring already attached) or FS_ERR_OPENSSL. */
FS_EXPORT int32_t FastSessionNative_SslCtxSetTlsextTicketKeyEvpCb(SSL_CTX* ctx, fs_ticket_keys* ring);


/* ---- Server session cache outside the process (server_cache.c) ----------------------------- */

/* Process-wide counts of the external server cache (FastSessionNative_GetServerCacheCounts). */
typedef struct fs_server_cache_counts {
    int64_t lookups;  /* handshakes paused for a store lookup */
    int64_t provided; /* sessions handed back that matched their key */
    int64_t rejected; /* bytes handed back that were no session of their key (a miss) */
    int64_t returned; /* sessions the get-session callback gave OpenSSL */
    int64_t removed;  /* remove-callback events (SSL_CTX_sess_set_remove_cb) */
    int64_t skipped;  /* ClientHellos with nothing to look up */
} fs_server_cache_counts;

/* Shims SSL_CTX_set_session_cache_mode(SSL_SESS_CACHE_SERVER | mode) and installs the client-hello,
 * get-session and remove callbacks. Returns the previous mode or FS_ERR_ARGUMENT. */
FS_EXPORT int32_t FastSessionNative_SslCtxSetExternalSessionCache(SSL_CTX* ctx, int32_t mode);
/* Shims SSL_CTX_get_session_cache_mode. */
FS_EXPORT int32_t FastSessionNative_SslCtxGetSessionCacheMode(SSL_CTX* ctx);
/* The pending lookup's key (key_cap bytes of room; FS_SESSION_ID_MAX always fits) and kind,
 * FS_SESSION_LOOKUP_NONE if none, FS_ERR_ARGUMENT if key_cap is too small for the pending key. */
FS_EXPORT int32_t FastSessionNative_SslGetSessionLookup(SSL* ssl, uint8_t* key, int32_t key_cap, int32_t* key_len);
/* Answers the pending lookup (d2i_SSL_SESSION; der_len 0 = none). 1 offered, 0 miss, FS_ERR_ARGUMENT. */
FS_EXPORT int32_t FastSessionNative_SslProvideSession(SSL* ssl, const uint8_t* der, int32_t der_len);
/* Copies the process-wide server cache counts. */
FS_EXPORT void FastSessionNative_GetServerCacheCounts(fs_server_cache_counts* counts);
/* Shims SSL_CTX_set_session_id_context (server contexts; at most FS_SESSION_ID_MAX bytes). FS_OK, FS_ERR_ARGUMENT, FS_ERR_OPENSSL. */
FS_EXPORT int32_t FastSessionNative_SslCtxSetSessionIdContext(SSL_CTX* ctx, const uint8_t* sid_ctx, int32_t length);

/* ---- TLS 1.3 early data, 0-RTT (early_data.c) ------------------------------------------------ */

/* SSL_get_early_data_status values. */
#define FS_EARLY_DATA_NOT_SENT 0
#define FS_EARLY_DATA_REJECTED 1
#define FS_EARLY_DATA_ACCEPTED 2
/* SSL_read_early_data results (the export's return value). */
#define FS_READ_EARLY_DATA_ERROR 0
#define FS_READ_EARLY_DATA_SUCCESS 1
#define FS_READ_EARLY_DATA_FINISH 2
/* FastSessionNative_SslCtxSetEarlyData flags. */
#define FS_EARLY_DATA_DECIDE 1          /* server: pause after the ClientHello for a decision made outside OpenSSL */
#define FS_EARLY_DATA_NO_ANTI_REPLAY 2  /* server: SSL_OP_NO_ANTI_REPLAY (stateless tickets; replay checked by the caller) */
/* The server's per-connection decision (fs_early_data_info.decision). */
#define FS_EARLY_DECISION_NONE 0        /* not asked (no FS_EARLY_DATA_DECIDE, or before the ClientHello) */
#define FS_EARLY_DECISION_PENDING 1     /* the handshake waits (SSL_ERROR_WANT_CLIENT_HELLO_CB) */
#define FS_EARLY_DECISION_ALLOW 2
#define FS_EARLY_DECISION_DENY 3
#define FS_EARLY_DECISION_NOT_OFFERED 4 /* the ClientHello carried no early_data extension */
#define FS_EARLY_IDENTITY_HASH 32

/* What one connection knows about its early data (FastSessionNative_SslGetEarlyDataInfo). */
typedef struct fs_early_data_info {
    int32_t status;                  /* SSL_get_early_data_status: FS_EARLY_DATA_* */
    int32_t offered;                 /* client: bytes handed to SSL_write_early_data; server: early_data extension seen */
    uint32_t session_max_early_data; /* SSL_SESSION_get_max_early_data of the connection's session (0: none) */
    int32_t has_session;             /* client: a resumable session is set */
    int32_t reused;                  /* SSL_session_reused */
    int32_t allow_cb_ran;            /* server: OpenSSL asked SSL_CTX_set_allow_early_data_cb's callback */
    int32_t decision;                /* server: FS_EARLY_DECISION_* */
    int32_t deny_reason;             /* server: the caller's reason code given with FS_EARLY_DECISION_DENY */
    int32_t identity_len;            /* server: FS_EARLY_IDENTITY_HASH when a PSK identity was offered, else 0 */
    int32_t max_early_data;          /* SSL_get_max_early_data (server: advertised in tickets) */
    uint8_t identity_hash[FS_EARLY_IDENTITY_HASH]; /* SHA-256 of the first PSK identity (the ticket) */
} fs_early_data_info;

/* Shims SSL_CTX_set_max_early_data, SSL_CTX_set_recv_max_early_data and, on servers,
 * SSL_CTX_set_allow_early_data_cb (+ the client-hello pause with FS_EARLY_DATA_DECIDE, and
 * SSL_OP_NO_ANTI_REPLAY with FS_EARLY_DATA_NO_ANTI_REPLAY). Returns FS_OK, FS_ERR_ARGUMENT or FS_ERR_OPENSSL. */
FS_EXPORT int32_t FastSessionNative_SslCtxSetEarlyData(SSL_CTX* ctx, uint32_t max_early_data,
    uint32_t recv_max_early_data, int32_t flags);
/* Client: SSL_write_early_data (writes the ClientHello first), trimmed to what the session allows.
 * Server, early data accepted, handshake not complete: SSL_write_early_data as 0.5-RTT data. Returns 1 when data was written, 0 when the session allows none (nothing sent), or an FS_ERR_*;
 * result as for FastSessionNative_SslWrite. */
FS_EXPORT int32_t FastSessionNative_SslWriteEarlyData(SSL* ssl, const uint8_t* plain, int32_t plain_len,
    uint8_t* out, int32_t out_cap, fs_io_result* result);
/* Server: SSL_read_early_data until the buffer is full or input runs out. Returns FS_READ_EARLY_DATA_*;
 * result as for FastSessionNative_SslRead (ret 1 for SUCCESS/FINISH). */
FS_EXPORT int32_t FastSessionNative_SslReadEarlyData(SSL* ssl, const uint8_t* in, int32_t in_len,
    uint8_t* plain, int32_t plain_cap, uint8_t* out, int32_t out_cap, fs_io_result* result);
/* Fills *info. Returns FS_OK or FS_ERR_ARGUMENT. */
FS_EXPORT int32_t FastSessionNative_SslGetEarlyDataInfo(SSL* ssl, fs_early_data_info* info);
/* Answers a pending decision: allow (1) or deny (0) with the caller's reason code. FS_OK or FS_ERR_ARGUMENT. */
FS_EXPORT int32_t FastSessionNative_SslSetEarlyDataDecision(SSL* ssl, int32_t allow, int32_t reason);
/* sizeof(fs_early_data_info), for the managed layout check. */
FS_EXPORT int32_t FastSessionNative_GetEarlyDataInfoSize(void);

#ifdef __cplusplus
}
#endif

#endif /* FASTSESSION_SHIM_H */
