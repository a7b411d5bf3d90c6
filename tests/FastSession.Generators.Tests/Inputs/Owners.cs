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
