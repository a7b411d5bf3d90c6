using Microsoft.CodeAnalysis;

namespace FastSession.Generators
{
    /// <summary>
    /// Every diagnostic the generator reports. Ids FSG0001–FSG0099 are reserved for it;
    /// all are errors: each one means the generated interop would be wrong or would not compile.
    /// </summary>
    internal static class DiagnosticDescriptors
    {
        public const string Category = "FastSession.Interop";

        public static class Ids
        {
            public const string ImportMethodNotStaticPartial = "FSG0001";
            public const string TypeNotPartial = "FSG0002";
            public const string NotABorrowedView = "FSG0003";
            public const string OwnedHandleWithoutFree = "FSG0004";
            public const string NotBlittable = "FSG0005";
            public const string TrivialCallTakesLock = "FSG0006";
            public const string DuplicateEntryPoint = "FSG0007";
            public const string ViewReturnWithoutOwner = "FSG0008";
            public const string HandleOwnerIncomplete = "FSG0009";
            public const string ImportOutsideLibrary = "FSG0010";
            public const string EmptyName = "FSG0011";
            public const string ToOwnedMisconfigured = "FSG0012";
            public const string ParameterOnlyShape = "FSG0013";
            public const string SpanElementNotPinnable = "FSG0014";
            public const string HandleByReference = "FSG0015";
            public const string SpanWithoutLength = "FSG0016";
            public const string EntryPointIsMacro = "FSG0017";
        }

        public static readonly DiagnosticDescriptor ImportMethodNotStaticPartial = Error(
            Ids.ImportMethodNotStaticPartial,
            "[ShimImport] method must be 'static partial'",
            "Method '{0}' is marked [ShimImport] and must be a non-generic 'static partial' method without a body, returning by value");

        public static readonly DiagnosticDescriptor TypeNotPartial = Error(
            Ids.TypeNotPartial,
            "Type extended by the generator must be partial",
            "Type '{0}' must be declared 'partial' (as must every type containing it) so the generator can add members to it");

        public static readonly DiagnosticDescriptor NotABorrowedView = Error(
            Ids.NotABorrowedView,
            "Borrowed view must be a ref struct marked [BorrowedView]",
            "Type '{0}' is not a ref struct marked [BorrowedView]: {1}");

        public static readonly DiagnosticDescriptor OwnedHandleWithoutFree = Error(
            Ids.OwnedHandleWithoutFree,
            "[OwnedHandle] without a free entry point",
            "Owned handle '{0}' must name the native function that frees it (the second argument of [OwnedHandle])");

        public static readonly DiagnosticDescriptor NotBlittable = Error(
            Ids.NotBlittable,
            "Parameter or return type cannot cross the shim",
            "{0} of '{1}' has type '{2}', which the shim cannot pass: use a blittable primitive, an unmanaged pointer, a [ShimHandleOwner] class, an [OwnedHandle] struct or a [BorrowedView] ref struct, by value");

        public static readonly DiagnosticDescriptor TrivialCallTakesLock = Error(
            Ids.TrivialCallTakesLock,
            "Trivial = true on a call that may take a lock",
            "'{0}' is declared Trivial but calls '{1}', whose name says it may lock, block or call back ('{2}'); [SuppressGCTransition] on it could stall the GC, so remove Trivial = true");

        public static readonly DiagnosticDescriptor DuplicateEntryPoint = Error(
            Ids.DuplicateEntryPoint,
            "Entry point imported twice with different signatures",
            "Entry point '{0}' of library '{1}' is also imported by '{2}' with a different native signature or Trivial setting ({3} vs {4})");

        public static readonly DiagnosticDescriptor ViewReturnWithoutOwner = Error(
            Ids.ViewReturnWithoutOwner,
            "Borrowed view return needs its owner as the first parameter",
            "'{0}' returns the borrowed view '{1}', so its first parameter must be the view's owner '{2}'");

        public static readonly DiagnosticDescriptor HandleOwnerIncomplete = Error(
            Ids.HandleOwnerIncomplete,
            "Handle owner is incomplete",
            "Type '{0}' cannot own native handles for the generator: {1}");

        public static readonly DiagnosticDescriptor ImportOutsideLibrary = Error(
            Ids.ImportOutsideLibrary,
            "[ShimImport] outside a [ShimLibrary] class",
            "Method '{0}' is marked [ShimImport] but its containing type '{1}' is not marked [ShimLibrary]");

        public static readonly DiagnosticDescriptor EmptyName = Error(
            Ids.EmptyName,
            "Empty library name or entry point",
            "The {0} given for '{1}' must not be empty");

        public static readonly DiagnosticDescriptor ToOwnedMisconfigured = Error(
            Ids.ToOwnedMisconfigured,
            "Borrowed view's ToOwned is misconfigured",
            "Borrowed view '{0}': {1}");

        public static readonly DiagnosticDescriptor ParameterOnlyShape = Error(
            Ids.ParameterOnlyShape,
            "Span or string return",
            "'{0}' returns '{1}': spans and strings are parameter shapes (pinned or encoded for the call only); return a primitive, an [OwnedHandle] or a [BorrowedView] and fill a span parameter instead");

        public static readonly DiagnosticDescriptor SpanElementNotPinnable = Error(
            Ids.SpanElementNotPinnable,
            "Span element cannot be pinned",
            "Parameter '{0}' of '{1}' is a span of '{2}', which is not an unmanaged value type, so the generator cannot pin it and pass its address");

        public static readonly DiagnosticDescriptor HandleByReference = Error(
            Ids.HandleByReference,
            "Handle passed by reference",
            "Parameter '{0}' of '{1}' passes the handle type '{2}' by {3}; handles cross by value only (a native call hands back an owned reference as an [OwnedHandle] return)");

        public static readonly DiagnosticDescriptor SpanWithoutLength = new(
            Ids.SpanWithoutLength,
            "Pinned span without a length parameter",
            "Parameter '{0}' of '{1}' is a span, but no integer parameter follows it: C receives only the address, so pass the span's length (or suppress when the size is fixed by contract)",
            Category,
            DiagnosticSeverity.Warning,
            isEnabledByDefault: true);

        public static readonly DiagnosticDescriptor EntryPointIsMacro = Error(
            Ids.EntryPointIsMacro,
            "Entry point is an OpenSSL macro",
            "'{0}' imports '{1}', which OpenSSL 3 defines as a macro, not an exported function: the call would fail with EntryPointNotFoundException; import '{2}' (or a shim export) instead");

        private static DiagnosticDescriptor Error(string id, string title, string message)
            => new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true);
    }
}
