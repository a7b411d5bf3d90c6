using System;
using FastSession.Interop;

[assembly: System.Runtime.CompilerServices.DisableRuntimeMarshalling]

namespace FastSession
{
    /// <summary>One SSL_CTX (a stand-in for the library's class).</summary>
    [ShimHandleOwner]
    public sealed class SslContext : IDisposable
    {
        private nint _handle;

        internal SslContext(nint handle) => _handle = handle;

        internal nint NativeHandle => _handle != 0 ? _handle : throw new ObjectDisposedException(nameof(SslContext));

        /// <summary>Frees the context.</summary>
        public void Dispose() => _handle = 0;
    }

    /// <summary>One SSL (a stand-in for the library's class).</summary>
    [ShimHandleOwner]
    public sealed class SslConnection : IDisposable
    {
        private nint _handle;
        private ulong _epoch;

        internal SslConnection(nint handle) => _handle = handle;

        internal nint NativeHandle => _handle != 0 ? _handle : throw new ObjectDisposedException(nameof(SslConnection));

        internal ulong Epoch => _epoch;

        private int _readers;

        /// <summary>The reader lease views take (a counter here; the library's gate also excludes writers).</summary>
        internal int EnterReader()
        {
            System.Threading.Interlocked.Increment(ref _readers);
            return 1;
        }

        /// <summary>Releases a reader lease.</summary>
        internal void ExitReader(int lease)
        {
            if (lease != 0)
            {
                System.Threading.Interlocked.Decrement(ref _readers);
            }
        }

        /// <summary>Leases currently held (for the runtime tests).</summary>
        internal int Readers => _readers;

        /// <summary>SSL_clear: borrowed views taken before become stale.</summary>
        public void Reset() => _epoch++;

        /// <summary>SSL_free: borrowed views taken before become stale.</summary>
        public void Dispose()
        {
            _handle = 0;
            _epoch++;
        }
    }
}
