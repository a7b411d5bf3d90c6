using System.Collections.Generic;
using System.Text;
using FastSession.Generators.Helpers;
using FastSession.Generators.Model;
using Microsoft.CodeAnalysis.CSharp;

namespace FastSession.Generators
{
    /// <summary>Writes source text from models. Pure functions of their input: no Roslyn symbols here.</summary>
    internal static class Emitter
    {
        private const string DllImport = "global::System.Runtime.InteropServices.DllImport";
        private const string SuppressGCTransition = "global::System.Runtime.InteropServices.SuppressGCTransition";
        private const string DebuggerDisplay = "[global::System.Diagnostics.DebuggerDisplay(\"{ToString(),nq}\")]";
        private const string KeepAlive = "global::System.GC.KeepAlive";

        // ---- [ShimLibrary] classes -----------------------------------------------------------------

        public static string EmitLibraryClass(LibraryClassSpec spec)
        {
            var writer = new SourceWriter();
            OpenType(writer, spec.Type, attributes: null, baseList: null);

            // One extern per (entry point, native signature): several wrappers may share it (the same
            // getter for a borrowed view and an owned handle).
            var externNames = new Dictionary<(string EntryPoint, string Signature, bool Trivial), string>();
            var externs = new List<(string Name, ImportMethodSpec Method)>();
            var usedNames = new HashSet<string>();
            foreach (ImportMethodSpec method in spec.Methods)
            {
                var key = (method.EntryPoint, method.NativeSignature, method.Trivial);
                if (!externNames.ContainsKey(key))
                {
                    string name = "__PInvoke_" + Identifier(method.EntryPoint);
                    for (int suffix = 2; !usedNames.Add(name); suffix++)
                    {
                        name = "__PInvoke_" + Identifier(method.EntryPoint) + "_" + suffix;
                    }

                    externNames.Add(key, name);
                    externs.Add((name, method));
                }
            }

            bool first = true;
            foreach (ImportMethodSpec method in spec.Methods)
            {
                if (!first)
                {
                    writer.WriteLine();
                }

                first = false;
                WriteWrapper(writer, method, externNames[(method.EntryPoint, method.NativeSignature, method.Trivial)]);
            }

            foreach ((string name, ImportMethodSpec method) in externs)
            {
                writer.WriteLine();
                var parameters = new List<string>();
                foreach (ParameterSpec parameter in method.Parameters)
                {
                    parameters.Add(parameter.Type.NativeName + " " + parameter.Name);
                }

                WriteExtern(writer, method.LibraryName, method.EntryPoint, method.Trivial, method.ReturnType.NativeName, name, string.Join(", ", parameters));
            }

            CloseType(writer, spec.Type);
            return writer.ToString();
        }

        private static void WriteWrapper(SourceWriter writer, ImportMethodSpec method, string externName)
        {
            var signature = new List<string>();
            foreach (ParameterSpec parameter in method.Parameters)
            {
                signature.Add(parameter.Modifiers + parameter.Type.ManagedName + " " + parameter.Name);
            }

            // A plain comment: a doc comment on the implementing part would replace the declaration's.
            writer.WriteLine("// " + method.EntryPoint + " in " + method.LibraryName + (method.Trivial ? " (trivial: no GC transition)" : string.Empty));
            writer.OpenBlock(method.Modifiers + "static partial " + method.ReturnType.ManagedName + " " + method.Name + "(" + string.Join(", ", signature) + ")");

            // Prologue: null checks for owners (cheap, and better than a NullReferenceException from
            // NativeHandle). Views and owned handles are leased below; everything throws before anything
            // native happens.
            var arguments = new List<string>();
            var leases = new List<ParameterSpec>();
            foreach (ParameterSpec parameter in method.Parameters)
            {
                switch (parameter.Type.Kind)
                {
                    case ShimTypeKind.HandleOwner:
                        writer.WriteLine("global::System.ArgumentNullException.ThrowIfNull(" + parameter.Name + ");");
                        arguments.Add(parameter.Name + ".NativeHandle");
                        break;
                    case ShimTypeKind.BorrowedView:
                    case ShimTypeKind.OwnedHandle:
                        leases.Add(parameter);
                        arguments.Add("__" + parameter.LocalName + "_lease.Pointer");
                        break;
                    default:
                        arguments.Add(parameter.Name);
                        break;
                }
            }

            // Views and owned handles are leased for the duration of the call, so nothing on another
            // thread can free the pointer under it: an owned handle's lease holds off its Dispose; a view's
            // lease is a reader lease on its owner (epoch checked inside it) that holds off every call that
            // may free the borrowed object (README: "The safety rule"). Leases end in finally blocks.
            foreach (ParameterSpec lease in leases)
            {
                writer.WriteLine(lease.Type.ManagedName + ".Lease __" + lease.LocalName + "_lease = " + lease.Name + ".Enter();");
                writer.WriteLine("try");
                writer.OpenBlock();
            }

            // A get0 that returns a view reads the pointer and captures the epoch under one reader lease on
            // the owner, so the pair is consistent and no exclusive call (Dispose, Reset ...) runs between.
            bool returnsView = method.ReturnType.Kind == ShimTypeKind.BorrowedView;
            string readerOwner = returnsView ? method.Parameters[0].Name : string.Empty;
            if (returnsView)
            {
                writer.WriteLine("int __reader_lease = " + readerOwner + ".EnterReader();");
                writer.WriteLine("try");
                writer.OpenBlock();
            }

            string call = externName + "(" + string.Join(", ", arguments) + ")";
            if (method.ReturnType.Kind == ShimTypeKind.Void)
            {
                writer.WriteLine(call + ";");
            }
            else
            {
                writer.WriteLine(method.ReturnType.NativeName + " __result = " + call + ";");
            }

            // The owners (and views' owners) must outlive the native call: their finalizers free the
            // pointers just passed.
            foreach (ParameterSpec parameter in method.Parameters)
            {
                if (parameter.Type.Kind == ShimTypeKind.HandleOwner)
                {
                    writer.WriteLine(KeepAlive + "(" + parameter.Name + ");");
                }
            }

            switch (method.ReturnType.Kind)
            {
                case ShimTypeKind.Void:
                    break;
                case ShimTypeKind.BorrowedView:
                    // The parser guarantees the first parameter is the view's owner (FSG0008).
                    writer.WriteLine("return new " + method.ReturnType.ManagedName + "(" + method.Parameters[0].Name + ", __result);");
                    break;
                case ShimTypeKind.OwnedHandle:
                    writer.WriteLine("return " + method.ReturnType.ManagedName + ".FromOwnedPointer(__result);");
                    break;
                default:
                    writer.WriteLine("return __result;");
                    break;
            }

            if (returnsView)
            {
                writer.CloseBlock();
                writer.WriteLine("finally");
                writer.OpenBlock();
                writer.WriteLine(readerOwner + ".ExitReader(__reader_lease);");
                writer.CloseBlock();
            }

            for (int i = leases.Count - 1; i >= 0; i--)
            {
                writer.CloseBlock();
                writer.WriteLine("finally");
                writer.OpenBlock();
                writer.WriteLine("__" + leases[i].LocalName + "_lease.Dispose();");
                writer.CloseBlock();
            }

            writer.CloseBlock();
        }

        // ---- [BorrowedView] structs ----------------------------------------------------------------

        public static string EmitBorrowedView(BorrowedViewSpec spec)
        {
            string name = spec.Type.ShortName;
            string owner = spec.OwnerName;
            bool hasToOwned = spec.UpRefEntryPoint is not null && spec.OwnedTypeName is not null;
            string upRefExtern = hasToOwned ? "__PInvoke_" + Identifier(spec.UpRefEntryPoint!) : string.Empty;

            var writer = new SourceWriter();
            OpenType(writer, spec.Type, attributes: DebuggerDisplay, baseList: null);
            writer.WriteLine(
$@"private readonly {owner}? _owner;
private readonly nint _pointer;
private readonly ulong _epoch;

/// <summary>Wraps <paramref name=""pointer""/>, borrowed from <paramref name=""owner""/>, and captures the owner's current epoch.</summary>
internal {name}({owner} owner, nint pointer)
{{
    _owner = owner;
    _pointer = pointer;
    _epoch = owner.Epoch;
}}

/// <summary>The owner this view borrows from; <see langword=""null""/> for <see langword=""default""/>.</summary>
internal {owner}? Owner => _owner;

/// <summary>True when the view holds no pointer: the native get0 call returned NULL, or this is <see langword=""default""/>.</summary>
public bool IsEmpty => _pointer == 0;

/// <summary>True when the view holds a pointer and its owner has not moved to another epoch (changed session, reset, disposed) since it was borrowed.</summary>
public bool IsValid => _pointer != 0 && _owner is not null && _owner.Epoch == _epoch;

/// <summary>
/// Takes a reader lease on the owner, then checks the epoch inside it: while the lease is held no call that may free
/// the borrowed object (an engine call, a session change, reset, dispose) can run on any thread. Throws
/// <see cref=""global::System.InvalidOperationException""/> when the view is empty or stale, or the owner is in use on another thread.
/// </summary>
internal Lease Enter()
{{
    if (_pointer == 0 || _owner is null)
    {{
        ThrowInvalid(empty: true);
    }}

    int lease = _owner.EnterReader();
    if (_owner.Epoch != _epoch)
    {{
        _owner.ExitReader(lease);
        ThrowInvalid(empty: false);
    }}

    return new Lease(_owner, _pointer, lease);
}}

/// <summary>A reader lease on the view's owner (do not copy, store or return it; dispose it once, with <c>using</c>).</summary>
internal readonly ref struct Lease
{{
    private readonly {owner} _owner;
    private readonly int _lease;

    internal Lease({owner} owner, nint pointer, int lease)
    {{
        _owner = owner;
        Pointer = pointer;
        _lease = lease;
    }}

    /// <summary>The borrowed pointer, valid until <see cref=""Dispose""/>.</summary>
    internal nint Pointer {{ get; }}

    /// <summary>Releases the reader lease.</summary>
    public void Dispose() => _owner.ExitReader(_lease);
}}");

            if (hasToOwned)
            {
                writer.WriteLine(
$@"
/// <summary>Takes a native reference (<c>{spec.UpRefEntryPoint}</c>), under the reader lease, and returns it as an owned handle the caller must dispose. Throws <see cref=""global::System.InvalidOperationException""/> when the view is empty or stale.</summary>
public {spec.OwnedTypeName} ToOwned()
{{
    Lease lease = Enter();
    try
    {{
        if ({upRefExtern}(lease.Pointer) == 0)
        {{
            throw new global::System.InvalidOperationException(""{spec.UpRefEntryPoint} failed."");
        }}

        return {spec.OwnedTypeName}.FromOwnedPointer(lease.Pointer);
    }}
    finally
    {{
        lease.Dispose();
    }}
}}");
            }

            writer.WriteLine(
$@"
/// <summary>""{name}(0x…, valid|stale|empty)"".</summary>
public override string ToString()
    => ""{name}(0x"" + ((long)_pointer).ToString(""X"", global::System.Globalization.CultureInfo.InvariantCulture) + "", ""
        + (_pointer == 0 ? ""empty"" : IsValid ? ""valid"" : ""stale"") + "")"";

[global::System.Diagnostics.CodeAnalysis.DoesNotReturn]
private static void ThrowInvalid(bool empty)
    => throw new global::System.InvalidOperationException(empty
        ? ""The {name} is empty: the native call returned NULL, or the view is default.""
        : ""The {name} is stale: its owner's session changed, or the owner was reset or disposed, after the view was borrowed."");");

            if (hasToOwned)
            {
                writer.WriteLine();
                WriteExtern(writer, spec.LibraryName, spec.UpRefEntryPoint!, trivial: false, "int", upRefExtern, "nint pointer");
            }

            CloseType(writer, spec.Type);
            return writer.ToString();
        }

        // ---- [OwnedHandle] structs -----------------------------------------------------------------

        public static string EmitOwnedHandle(OwnedHandleSpec spec)
        {
            string name = spec.Type.ShortName;
            string full = spec.Type.FullName;
            string freeExtern = "__PInvoke_" + Identifier(spec.FreeEntryPoint);
            string upRefExtern = spec.UpRefEntryPoint is null ? string.Empty : "__PInvoke_" + Identifier(spec.UpRefEntryPoint);
            const string Slot = "global::FastSession.Interop.OwnedHandleSlot";

            var writer = new SourceWriter();
            OpenType(writer, spec.Type, DebuggerDisplay, "global::System.IDisposable, global::System.IEquatable<" + full + ">");
            writer.WriteLine(
$@"private readonly {Slot}? _slot;
private readonly long _generation;

private {name}({Slot} slot, long generation)
{{
    _slot = slot;
    _generation = generation;
}}

/// <summary>True for <see langword=""default""/>: the native call returned NULL; nothing to free.</summary>
public bool IsNone => _slot is null;

/// <summary>True when <see cref=""IsNone""/> or when this handle (or any copy of it) has been disposed.</summary>
public bool IsDisposed => _slot is null || _slot.IsDisposed(_generation);

/// <summary>Takes over one native reference to <paramref name=""pointer""/> (the caller gives up its own); NULL gives <see langword=""default""/>.</summary>
internal static {name} FromOwnedPointer(nint pointer)
{{
    if (pointer == 0)
    {{
        return default;
    }}

    {Slot} slot = global::FastSession.Interop.OwnedHandlePool<{full}>.Rent(pointer, &{freeExtern}, out long generation);
    return new {name}(slot, generation);
}}

/// <summary>Drops the native reference (<c>{spec.FreeEntryPoint}</c>) exactly once across all copies; later calls do nothing. The pointer is freed when the last lease ends.</summary>
public void Dispose() => _slot?.Dispose(_generation);

/// <summary>Leases the pointer for a native call: it is not freed before the lease is disposed. Throws <see cref=""global::System.ObjectDisposedException""/> when disposed or <see cref=""IsNone""/>.</summary>
internal Lease Enter()
{{
    {Slot}? slot = _slot;
    if (slot is null)
    {{
        {Slot}.ThrowDisposed(""{name}"");
    }}

    return new Lease(slot, slot.Enter(_generation));
}}

/// <summary>The pointer without a lease: only when no other thread can dispose this handle meanwhile. Throws <see cref=""global::System.ObjectDisposedException""/> when disposed or <see cref=""IsNone""/>.</summary>
internal nint DangerousGetPointer()
{{
    {Slot}? slot = _slot;
    if (slot is null)
    {{
        {Slot}.ThrowDisposed(""{name}"");
    }}

    return slot.GetPointerUnleased(_generation);
}}");

            if (spec.UpRefEntryPoint is not null)
            {
                writer.WriteLine(
$@"
/// <summary>A second owned reference to the same native object (<c>{spec.UpRefEntryPoint}</c>); dispose both. Throws <see cref=""global::System.ObjectDisposedException""/> when disposed or <see cref=""IsNone""/>.</summary>
public {name} Duplicate()
{{
    Lease lease = Enter();
    try
    {{
        if ({upRefExtern}(lease.Pointer) == 0)
        {{
            throw new global::System.InvalidOperationException(""{spec.UpRefEntryPoint} failed."");
        }}

        return FromOwnedPointer(lease.Pointer);
    }}
    finally
    {{
        lease.Dispose();
    }}
}}");
            }

            writer.WriteLine(
$@"
/// <summary>True when both refer to the same rental of the same slot (copies of one handle).</summary>
public bool Equals({name} other) => ReferenceEquals(_slot, other._slot) && _generation == other._generation;

/// <inheritdoc/>
public override bool Equals(object? obj) => obj is {name} other && Equals(other);

/// <inheritdoc/>
public override int GetHashCode()
    => _slot is null ? 0 : global::System.HashCode.Combine(global::System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(_slot), _generation);

/// <summary>Same slot and generation.</summary>
public static bool operator ==({name} left, {name} right) => left.Equals(right);

/// <summary>Not the same slot and generation.</summary>
public static bool operator !=({name} left, {name} right) => !left.Equals(right);

/// <summary>""{name}(0x…)"", ""{name}(disposed)"" or ""{name}(none)"".</summary>
public override string ToString() => _slot is null ? ""{name}(none)"" : _slot.Describe(_generation);

/// <summary>A lease on the pointer (from <see cref=""Enter""/>): do not copy, store or return it; dispose it once, with <see langword=""using""/>.</summary>
internal ref struct Lease
{{
    private {Slot}? _slot;

    internal Lease({Slot} slot, nint pointer)
    {{
        _slot = slot;
        Pointer = pointer;
    }}

    /// <summary>The leased pointer.</summary>
    internal nint Pointer {{ get; }}

    /// <summary>Ends the lease; the pointer may be freed from here on.</summary>
    public void Dispose()
    {{
        {Slot}? slot = _slot;
        _slot = null;
        slot?.Exit();
    }}
}}
");
            WriteExtern(writer, spec.LibraryName, spec.FreeEntryPoint, trivial: false, "void", freeExtern, "nint pointer");
            if (spec.UpRefEntryPoint is not null)
            {
                writer.WriteLine();
                WriteExtern(writer, spec.LibraryName, spec.UpRefEntryPoint, trivial: false, "int", upRefExtern, "nint pointer");
            }

            CloseType(writer, spec.Type);
            return writer.ToString();
        }

        // ---- Shared pieces -------------------------------------------------------------------------

        private static void WriteExtern(SourceWriter writer, string library, string entryPoint, bool trivial, string returnType, string name, string parameters)
        {
            writer.WriteLine("[" + DllImport + "(" + Literal(library) + ", EntryPoint = " + Literal(entryPoint) + ", ExactSpelling = true)]");
            if (trivial)
            {
                writer.WriteLine("[" + SuppressGCTransition + "]");
            }

            writer.WriteLine("private static extern " + returnType + " " + name + "(" + parameters + ");");
        }

        private static void OpenType(SourceWriter writer, TypeSpec type, string? attributes, string? baseList)
        {
            writer.WriteLine("// <auto-generated/>");
            writer.WriteLine("#nullable enable");
            writer.WriteLine();
            if (type.Namespace.Length > 0)
            {
                writer.OpenBlock("namespace " + type.Namespace);
            }

            for (int i = 0; i < type.Chain.Count; i++)
            {
                TypeDeclarationSpec declaration = type.Chain[i];
                bool innermost = i == type.Chain.Count - 1;
                if (innermost && attributes is not null)
                {
                    writer.WriteLine(attributes);
                }

                // 'unsafe' on the generated part only: function pointers and pointer parameters need it.
                string header = (innermost ? "unsafe " : string.Empty) + declaration.Modifiers + "partial " + declaration.Keyword + " " + declaration.Name;
                if (innermost && baseList is not null)
                {
                    header += " : " + baseList;
                }

                writer.OpenBlock(header);
            }
        }

        private static void CloseType(SourceWriter writer, TypeSpec type)
        {
            for (int i = 0; i < type.Chain.Count; i++)
            {
                writer.CloseBlock();
            }

            if (type.Namespace.Length > 0)
            {
                writer.CloseBlock();
            }
        }

        private static string Literal(string value) => SymbolDisplay.FormatLiteral(value, quote: true);

        /// <summary>An entry point as part of a C# identifier (C names are already valid; anything else becomes '_').</summary>
        private static string Identifier(string entryPoint)
        {
            var builder = new StringBuilder(entryPoint.Length);
            foreach (char c in entryPoint)
            {
                builder.Append(SyntaxFacts.IsIdentifierPartCharacter(c) ? c : '_');
            }

            return builder.ToString();
        }
    }
}
