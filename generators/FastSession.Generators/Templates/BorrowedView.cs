// Template for the generated part of a [BorrowedView] ref struct (CsWin32 style: a real C# file whose
// placeholder names the emitter replaces). Only the lines between "// <members>" and "// </members>" are
// emitted, dedented to the struct's level; "// <if NAME>" ... "// </if>" sections are kept only when the
// view declares NAME. Placeholders: __View__ (the struct), __Owner__ (its [ShimHandleOwner] class),
// __Library__, __UpRef__ (UpRefEntryPoint), __Owned__ (OwnedType), __UpRefExtern__ (the extern's name).
// The emitter is the only reader of this file: it is an embedded resource, not compiled into the generator.
namespace FastSession.Generators.Templates
{
    unsafe readonly ref partial struct __View__
    {
        // <members>
        private readonly __Owner__? _owner;
        private readonly nint _pointer;
        private readonly ulong _epoch;

        /// <summary>Wraps <paramref name="pointer"/>, borrowed from <paramref name="owner"/>, and captures the owner's current epoch.</summary>
        internal __View__(__Owner__ owner, nint pointer)
        {
            _owner = owner;
            _pointer = pointer;
            _epoch = owner.Epoch;
        }

        /// <summary>
        /// Wraps <paramref name="pointer"/> with the epoch it belongs to, read by the caller together with it (e.g. a
        /// seqlock-style snapshot the owner publishes at the end of each exclusive call): every access still checks
        /// this epoch inside the owner's reader lease, so a pair that is already stale only ever throws.
        /// </summary>
        internal __View__(__Owner__ owner, nint pointer, ulong epoch)
        {
            _owner = owner;
            _pointer = pointer;
            _epoch = epoch;
        }

        /// <summary>The owner this view borrows from; <see langword="null"/> for <see langword="default"/>.</summary>
        internal __Owner__? Owner => _owner;

        /// <summary>True when the view holds no pointer: the native get0 call returned NULL, or this is <see langword="default"/>.</summary>
        public bool IsEmpty => _pointer == 0;

        /// <summary>True when the view holds a pointer and its owner has not moved to another epoch (changed session, reset, disposed) since it was borrowed.</summary>
        public bool IsValid => _pointer != 0 && _owner is not null && _owner.Epoch == _epoch;

        /// <summary>
        /// Takes a reader lease on the owner, then checks the epoch inside it: while the lease is held no call that may free
        /// the borrowed object (an engine call, a session change, reset, dispose) can run on any thread. Throws
        /// <see cref="global::System.InvalidOperationException"/> when the view is empty or stale, or the owner is in use on another thread.
        /// </summary>
        internal Lease Enter()
        {
            if (_pointer == 0 || _owner is null)
            {
                ThrowInvalid(empty: true);
            }

            int lease = _owner.EnterReader();
            if (_owner.Epoch != _epoch)
            {
                _owner.ExitReader(lease);
                ThrowInvalid(empty: false);
            }

            return new Lease(_owner, _pointer, lease);
        }

        /// <summary>A reader lease on the view's owner (do not copy, store or return it; dispose it once, with <c>using</c>).</summary>
        internal readonly ref struct Lease
        {
            private readonly __Owner__ _owner;
            private readonly int _lease;

            internal Lease(__Owner__ owner, nint pointer, int lease)
            {
                _owner = owner;
                Pointer = pointer;
                _lease = lease;
            }

            /// <summary>The borrowed pointer, valid until <see cref="Dispose"/>.</summary>
            internal nint Pointer { get; }

            /// <summary>Releases the reader lease.</summary>
            public void Dispose() => _owner.ExitReader(_lease);
        }
        // <if ToOwned>

        /// <summary>Takes a native reference (<c>__UpRef__</c>), under the reader lease, and returns it as an owned handle the caller must dispose. Throws <see cref="global::System.InvalidOperationException"/> when the view is empty or stale.</summary>
        public __Owned__ ToOwned()
        {
            Lease lease = Enter();
            try
            {
                if (__UpRefExtern__(lease.Pointer) == 0)
                {
                    throw new global::System.InvalidOperationException("__UpRef__ failed.");
                }

                return __Owned__.FromOwnedPointer(lease.Pointer);
            }
            finally
            {
                lease.Dispose();
            }
        }
        // </if>

        /// <summary>"__View__(0x…, valid|stale|empty)".</summary>
        public override string ToString()
            => "__View__(0x" + ((long)_pointer).ToString("X", global::System.Globalization.CultureInfo.InvariantCulture) + ", "
                + (_pointer == 0 ? "empty" : IsValid ? "valid" : "stale") + ")";

        [global::System.Diagnostics.CodeAnalysis.DoesNotReturn]
        private static void ThrowInvalid(bool empty)
            => throw new global::System.InvalidOperationException(empty
                ? "The __View__ is empty: the native call returned NULL, or the view is default."
                : "The __View__ is stale: its owner's session changed, or the owner was reset or disposed, after the view was borrowed.");
        // <if ToOwned>

        [global::System.Runtime.InteropServices.DllImport("__Library__", EntryPoint = "__UpRef__", ExactSpelling = true)]
        private static extern int __UpRefExtern__(nint pointer);
        // </if>
        // </members>
    }
}
