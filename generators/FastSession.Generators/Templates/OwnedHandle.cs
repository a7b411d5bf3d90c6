// Template for the generated part of an [OwnedHandle] struct (CsWin32 style: a real C# file whose
// placeholder names the emitter replaces). Only the lines between "// <members>" and "// </members>" are
// emitted, dedented to the struct's level; "// <if NAME>" ... "// </if>" sections are kept only when the
// handle declares NAME. Placeholders: __Handle__ (the struct), __HandleFullName__ (global::-qualified),
// __Library__, __Free__ / __FreeExtern__ (free entry point and its extern), __UpRef__ / __UpRefExtern__.
// The slot protocol itself lives in OwnedHandleSlot.cs; this file only forwards to it.
namespace FastSession.Generators.Templates
{
    unsafe readonly partial struct __Handle__ : global::System.IDisposable, global::System.IEquatable<__HandleFullName__>
    {
        // <members>
        private readonly global::FastSession.Interop.OwnedHandleSlot? _slot;
        private readonly long _generation;

        private __Handle__(global::FastSession.Interop.OwnedHandleSlot slot, long generation)
        {
            _slot = slot;
            _generation = generation;
        }

        /// <summary>True for <see langword="default"/>: the native call returned NULL; nothing to free.</summary>
        public bool IsNone => _slot is null;

        /// <summary>True when <see cref="IsNone"/> or when this handle (or any copy of it) has been disposed.</summary>
        public bool IsDisposed => _slot is null || _slot.IsDisposed(_generation);

        /// <summary>Takes over one native reference to <paramref name="pointer"/> (the caller gives up its own); NULL gives <see langword="default"/>.</summary>
        internal static __Handle__ FromOwnedPointer(nint pointer)
        {
            if (pointer == 0)
            {
                return default;
            }

            global::FastSession.Interop.OwnedHandleSlot slot = global::FastSession.Interop.OwnedHandlePool<__HandleFullName__>.Rent(pointer, &__FreeExtern__, out long generation);
            return new __Handle__(slot, generation);
        }

        /// <summary>Drops the native reference (<c>__Free__</c>) exactly once across all copies; later calls do nothing. The pointer is freed when the last lease ends.</summary>
        public void Dispose() => _slot?.Dispose(_generation);

        /// <summary>Leases the pointer for a native call: it is not freed before the lease is disposed. Throws <see cref="global::System.ObjectDisposedException"/> when disposed or <see cref="IsNone"/>.</summary>
        internal Lease Enter()
        {
            global::FastSession.Interop.OwnedHandleSlot? slot = _slot;
            if (slot is null)
            {
                global::FastSession.Interop.OwnedHandleSlot.ThrowDisposed("__Handle__");
            }

            return new Lease(slot, slot.Enter(_generation));
        }

        /// <summary>The pointer without a lease: only when no other thread can dispose this handle meanwhile. Throws <see cref="global::System.ObjectDisposedException"/> when disposed or <see cref="IsNone"/>.</summary>
        internal nint DangerousGetPointer()
        {
            global::FastSession.Interop.OwnedHandleSlot? slot = _slot;
            if (slot is null)
            {
                global::FastSession.Interop.OwnedHandleSlot.ThrowDisposed("__Handle__");
            }

            return slot.GetPointerUnleased(_generation);
        }
        // <if Duplicate>

        /// <summary>A second owned reference to the same native object (<c>__UpRef__</c>); dispose both. Throws <see cref="global::System.ObjectDisposedException"/> when disposed or <see cref="IsNone"/>.</summary>
        public __Handle__ Duplicate()
        {
            Lease lease = Enter();
            try
            {
                if (__UpRefExtern__(lease.Pointer) == 0)
                {
                    throw new global::System.InvalidOperationException("__UpRef__ failed.");
                }

                return FromOwnedPointer(lease.Pointer);
            }
            finally
            {
                lease.Dispose();
            }
        }
        // </if>

        /// <summary>True when both refer to the same rental of the same slot (copies of one handle).</summary>
        public bool Equals(__Handle__ other) => ReferenceEquals(_slot, other._slot) && _generation == other._generation;

        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is __Handle__ other && Equals(other);

        /// <inheritdoc/>
        public override int GetHashCode()
            => _slot is null ? 0 : global::System.HashCode.Combine(global::System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(_slot), _generation);

        /// <summary>Same slot and generation.</summary>
        public static bool operator ==(__Handle__ left, __Handle__ right) => left.Equals(right);

        /// <summary>Not the same slot and generation.</summary>
        public static bool operator !=(__Handle__ left, __Handle__ right) => !left.Equals(right);

        /// <summary>"__Handle__(0x…)", "__Handle__(disposed)" or "__Handle__(none)".</summary>
        public override string ToString() => _slot is null ? "__Handle__(none)" : _slot.Describe(_generation);

        /// <summary>A lease on the pointer (from <see cref="Enter"/>): do not copy, store or return it; dispose it once, with <see langword="using"/>.</summary>
        internal ref struct Lease
        {
            private global::FastSession.Interop.OwnedHandleSlot? _slot;

            internal Lease(global::FastSession.Interop.OwnedHandleSlot slot, nint pointer)
            {
                _slot = slot;
                Pointer = pointer;
            }

            /// <summary>The leased pointer.</summary>
            internal nint Pointer { get; }

            /// <summary>Ends the lease; the pointer may be freed from here on.</summary>
            public void Dispose()
            {
                global::FastSession.Interop.OwnedHandleSlot? slot = _slot;
                _slot = null;
                slot?.Exit();
            }
        }

        [global::System.Runtime.InteropServices.DllImport("__Library__", EntryPoint = "__Free__", ExactSpelling = true)]
        private static extern void __FreeExtern__(nint pointer);
        // <if Duplicate>

        [global::System.Runtime.InteropServices.DllImport("__Library__", EntryPoint = "__UpRef__", ExactSpelling = true)]
        private static extern int __UpRefExtern__(nint pointer);
        // </if>
        // </members>
    }
}
