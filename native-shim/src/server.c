/*
 * server.c — the server side of the session API: the SNI name received, per-connection ticket
 * counts, a true session copy, and per-name certificates that keep one session context.
 *
 * Per-name certificates are whole server SSL_CTXs registered on the parent before any handshake.
 * The parent's servername callback (context.c) only looks a name up in that fixed table and
 * calls SSL_set_SSL_CTX: nothing managed, nothing slow, nothing that can change while
 * handshakes run (registration happens while managed code builds the context, before it is
 * published). SSL_set_SSL_CTX changes the certificate and s->ctx; the session cache and the
 * ticket keys stay those of s->session_ctx (the parent), and every shim server uses the same
 * session id context, so sessions and tickets resume across the names one parent serves.
 */
#include "fs_internal.h"

#include <string.h>
#include <strings.h>

typedef struct fs_sni_entry {
    char* name;     /* lower case; "*.example" matches exactly one label */
    SSL_CTX* ctx;   /* reference owned by the parent's fs_ctx_data */
} fs_sni_entry;

void fastsession_sni_free(fs_ctx_data* data)
{
    if (data == NULL)
        return;
    for (int32_t i = 0; i < data->sni_count; i++)
    {
        OPENSSL_free(data->sni[i].name);
        SSL_CTX_free(data->sni[i].ctx);
    }
    OPENSSL_free(data->sni);
    data->sni = NULL;
    data->sni_count = 0;
}

static int name_matches(const char* pattern, const char* name)
{
    if (pattern[0] == '*' && pattern[1] == '.')
    {
        const char* dot = strchr(name, '.');
        // The wildcard stands for one non-empty label: "a.example" matches, "example" and "a.b.example" do not.
        return dot != NULL && dot != name && strcasecmp(dot + 1, pattern + 2) == 0;
    }
    return strcasecmp(pattern, name) == 0;
}

int fastsession_sni_select(SSL* ssl, const char* name)
{
    fs_ctx_data* data = fastsession_ctx_get_data(SSL_get_SSL_CTX(ssl));
    if (data == NULL || name == NULL || data->sni_count == 0)
        return 0;
    // Exact names first, then wildcards.
    for (int pass = 0; pass < 2; pass++)
    {
        for (int32_t i = 0; i < data->sni_count; i++)
        {
            int wildcard = data->sni[i].name[0] == '*';
            if (wildcard != pass || !name_matches(data->sni[i].name, name))
                continue;
            return SSL_set_SSL_CTX(ssl, data->sni[i].ctx) == data->sni[i].ctx;
        }
    }
    return 0;
}

int32_t FastSessionNative_SslCtxAddServerNameContext(SSL_CTX* parent, const char* name, SSL_CTX* child)
{
    ERR_clear_error();

    fs_ctx_data* data = fastsession_ctx_get_data(parent);
    fs_ctx_data* child_data = fastsession_ctx_get_data(child);
    size_t len = name != NULL ? strlen(name) : 0;
    if (data == NULL || child_data == NULL || !data->is_server || !child_data->is_server || parent == child ||
        len == 0 || len > 255 || child_data->sni_count > 0)
    {
        fastsession_raise_argument("two server contexts made by the shim and a host name of 1 to 255 bytes are needed");
        return FS_ERR_ARGUMENT;
    }

    fs_sni_entry* grown = OPENSSL_realloc(data->sni, sizeof(*grown) * (size_t)(data->sni_count + 1));
    if (grown == NULL)
        return FS_ERR_OPENSSL;
    data->sni = grown;
    char* copy = OPENSSL_strdup(name);
    if (copy == NULL)
        return FS_ERR_OPENSSL;
    for (char* p = copy; *p != '\0'; p++)
    {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    }
    if (!SSL_CTX_up_ref(child))
    {
        OPENSSL_free(copy);
        return FS_ERR_OPENSSL;
    }
    // One FastSession context: sessions made after the switch are bound to the parent's id.
    child_data->id = data->id;
    data->sni[data->sni_count].name = copy;
    data->sni[data->sni_count].ctx = child;
    data->sni_count++;
    return FS_OK;
}

int32_t FastSessionNative_SslGetServername(SSL* ssl, char* buf, int32_t cap)
{
    // No error queue impact.
    const char* name = ssl != NULL ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : NULL;
    if (name == NULL)
        return 0;
    size_t len = strlen(name);
    if (len > INT32_MAX - 1 || buf == NULL || cap < (int32_t)len)
        return FS_ERR_BUFFER_TOO_SMALL;
    memcpy(buf, name, len);
    return (int32_t)len;
}

int32_t FastSessionNative_SslSetNumTickets(SSL* ssl, int32_t count)
{
    ERR_clear_error();

    if (ssl == NULL || count < 0)
    {
        fastsession_raise_argument("a connection and a ticket count >= 0 are needed");
        return FS_ERR_ARGUMENT;
    }
    return SSL_set_num_tickets(ssl, (size_t)count) ? FS_OK : FS_ERR_OPENSSL;
}

int32_t FastSessionNative_SslGetNumTickets(SSL* ssl)
{
    // No error queue impact.
    if (ssl == NULL)
        return 0;
    size_t n = SSL_get_num_tickets(ssl);
    return n > INT32_MAX ? INT32_MAX : (int32_t)n;
}

SSL_SESSION* FastSessionNative_SslSessionDup(const SSL_SESSION* session)
{
    ERR_clear_error();

    if (session == NULL)
    {
        fastsession_raise_argument("session is NULL");
        return NULL;
    }
    if (!fastsession_init())
        return NULL;
    SSL_SESSION* copy = SSL_SESSION_dup(session);
    if (copy != NULL && fastsession_session_ctx_id(copy) != fastsession_session_ctx_id(session))
        (void)fastsession_session_bind(copy, fastsession_session_ctx_id(session));
    // SSL_SESSION_dup gives the copy no owner and no list links: it is in no cache (yet). No other
    // thread can reach it before this returns, so clearing the copied mark cannot race a reader.
    if (copy != NULL && fastsession_idx.session_cache >= 0)
        (void)SSL_SESSION_set_ex_data(copy, fastsession_idx.session_cache, NULL);
    return copy;
}
