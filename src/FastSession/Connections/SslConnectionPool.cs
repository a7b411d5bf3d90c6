using System;
using System.Threading;

namespace FastSession;

/// <summary>
/// Connections of one <see cref="SslContext"/> that ended cleanly, kept for reuse through <see cref="SslConnection.Reset"/>
/// (<c>SSL_clear</c>): a steady stream of <see cref="FastSslStream"/>s creates no new <c>SSL</c> object and no managed one.
/// Only connections whose close_notify was sent and whose stream released them go back; the pool is emptied (every
/// connection freed) when its context is disposed, so nothing outlives the context.
/// </summary>
internal sealed class SslConnectionPool
{
    // Enough for the connections a busy server has in flight on a few cores; the rest are freed.
    private const int Capacity = 64;

    private readonly SslConnection?[] _items = new SslConnection?[Capacity];
    private int _count;
    private bool _closed;

    /// <summary>
    /// A connection of <paramref name="context"/> ready for a new handshake: a pooled one after <c>SSL_clear</c> (which also
    /// drops its old session), else <see cref="SslContext.CreateConnection"/>.
    /// </summary>
    public static SslConnection Rent(SslContext context, string? serverName)
    {
        SslConnectionPool pool = context.ConnectionPool;
        while (pool.TryPop(out SslConnection? pooled))
        {
            // SSL_clear keeps the SNI it had when given none: a connection that sent a name serves only callers with one.
            if (serverName is null && pooled.ServerName is not null)
            {
                pooled.Dispose();
                continue;
            }
            try
            {
                pooled.Reset(serverName);
                pooled.CacheKey = null;
                return pooled;
            }
            catch (InvalidOperationException)
            {
                pooled.Dispose();
            }
        }
        return context.CreateConnection(serverName);
    }

    /// <summary>Takes back a connection whose stream closed it cleanly; frees it when the pool is full or closed.</summary>
    public static void Return(SslConnection connection)
    {
        // OpenSSL's SSL_clear keeps the early-data state: a connection that ran 0-RTT cannot serve another handshake.
        if (connection.UsedEarlyData || !connection.Context.ConnectionPool.TryPush(connection))
        {
            connection.Dispose();
        }
    }

    /// <summary>Frees every pooled connection and refuses new ones (the context is being disposed).</summary>
    public void Close()
    {
        SslConnection?[] taken = new SslConnection?[Capacity];
        int count;
        lock (_items)
        {
            _closed = true;
            count = _count;
            Array.Copy(_items, taken, count);
            Array.Clear(_items, 0, count);
            _count = 0;
        }
        for (int i = 0; i < count; i++)
        {
            taken[i]!.Dispose();
        }
    }

    private bool TryPop([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SslConnection? connection)
    {
        lock (_items)
        {
            if (_count == 0)
            {
                connection = null;
                return false;
            }
            connection = _items[--_count]!;
            _items[_count] = null;
            return true;
        }
    }

    private bool TryPush(SslConnection connection)
    {
        lock (_items)
        {
            if (_closed || _count == Capacity || connection.Context.IsDisposed)
            {
                return false;
            }
            _items[_count++] = connection;
            return true;
        }
    }
}

/// <content>The context's pool of cleanly closed connections (see <see cref="SslConnectionPool"/>).</content>
public sealed partial class SslContext
{
    private SslConnectionPool? _connectionPool;

    internal SslConnectionPool ConnectionPool
    {
        get
        {
            SslConnectionPool? pool = Volatile.Read(ref _connectionPool);
            if (pool is not null)
            {
                return pool;
            }
            Interlocked.CompareExchange(ref _connectionPool, new SslConnectionPool(), null);
            return _connectionPool!;
        }
    }
}
