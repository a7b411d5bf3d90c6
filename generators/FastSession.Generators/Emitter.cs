using System.Collections.Generic;
using System.Text;
using FastSession.Generators.Helpers;
using FastSession.Generators.Model;
using FastSession.Generators.Shapes;
using Microsoft.CodeAnalysis.CSharp;

namespace FastSession.Generators
{
    /// <summary>Writes source text from models. Pure functions of their input: no Roslyn symbols here.</summary>
    internal static class Emitter
    {
        private const string DllImport = "global::System.Runtime.InteropServices.DllImport";
        private const string SuppressGCTransition = "global::System.Runtime.InteropServices.SuppressGCTransition";
        private const string DebuggerDisplay = "[global::System.Diagnostics.DebuggerDisplay(\"{ToString(),nq}\")]";

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
            var arguments = new List<string>();
            var shapes = new ParameterShape[method.Parameters.Count];
            for (int i = 0; i < shapes.Length; i++)
            {
                ParameterSpec parameter = method.Parameters[i];
                shapes[i] = ParameterShape.For(parameter.Type.Kind);
                signature.Add(parameter.Modifiers + parameter.Type.ManagedName + " " + parameter.Name);
                arguments.Add(shapes[i].Argument(parameter));
            }

            // A plain comment: a doc comment on the implementing part would replace the declaration's.
            writer.WriteLine("// " + method.EntryPoint + " in " + method.LibraryName + (method.Trivial ? " (trivial: no GC transition)" : string.Empty));
            writer.OpenBlock(method.Modifiers + "static partial " + method.ReturnType.ManagedName + " " + method.Name + "(" + string.Join(", ", signature) + ")");

            // Everything that can throw on bad arguments throws before any lease is taken; leases and pins
            // then nest in parameter order and end in reverse (finally blocks), so nothing on another thread
            // frees a pointer while the native call uses it.
            for (int i = 0; i < shapes.Length; i++)
            {
                shapes[i].WriteCheck(writer, method.Parameters[i]);
            }

            if (IsStraightLineLease(method))
            {
                WriteStraightLineLease(writer, method, externName, arguments);
                writer.CloseBlock();
                return;
            }

            for (int i = 0; i < shapes.Length; i++)
            {
                shapes[i].WriteOpen(writer, method.Parameters[i]);
            }

            ParameterShape returnShape = ParameterShape.For(method.ReturnType.Kind);
            returnShape.WriteReturnOpen(writer, method);
            string call = externName + "(" + string.Join(", ", arguments) + ")";
            bool returnsVoid = method.ReturnType.Kind == ShimTypeKind.Void;
            writer.WriteLine(returnsVoid ? call + ";" : method.ReturnType.NativeName + " __result = " + call + ";");
            for (int i = 0; i < shapes.Length; i++)
            {
                shapes[i].WriteAfterCall(writer, method.Parameters[i]);
            }

            if (!returnsVoid)
            {
                returnShape.WriteReturn(writer, method);
            }

            returnShape.WriteReturnClose(writer, method);
            for (int i = shapes.Length - 1; i >= 0; i--)
            {
                shapes[i].WriteClose(writer, method.Parameters[i]);
            }

            writer.CloseBlock();
        }

        // A trivial call (no GC transition: it cannot run managed code, block, or throw a managed exception) whose
        // only lease is one borrowed view, with blittable arguments and result: nothing between Enter and Dispose
        // can throw, so the lease needs no try/finally, and the hottest accessors (view getters) skip the
        // exception frame's register saves (bench/RESULTS.md, "Generator fast paths, issue 13").
        private static bool IsStraightLineLease(ImportMethodSpec method)
        {
            if (!method.Trivial || method.ReturnType.Kind is not (ShimTypeKind.Primitive or ShimTypeKind.Void))
            {
                return false;
            }

            int views = 0;
            foreach (ParameterSpec parameter in method.Parameters)
            {
                if (parameter.Type.Kind == ShimTypeKind.BorrowedView && parameter.Modifiers.Length == 0)
                {
                    views++;
                }
                else if (parameter.Type.Kind != ShimTypeKind.Primitive || parameter.Modifiers.Length != 0)
                {
                    return false;
                }
            }

            return views == 1;
        }

        private static void WriteStraightLineLease(SourceWriter writer, ImportMethodSpec method, string externName, List<string> arguments)
        {
            ParameterSpec view = method.Parameters[0];
            foreach (ParameterSpec parameter in method.Parameters)
            {
                if (parameter.Type.Kind == ShimTypeKind.BorrowedView)
                {
                    view = parameter;
                }
            }

            string lease = BorrowedViewShape.LeaseName(view);
            writer.WriteLine(view.Type.ManagedName + ".Lease " + lease + " = " + view.Name + ".Enter();");
            string call = externName + "(" + string.Join(", ", arguments) + ")";
            if (method.ReturnType.Kind == ShimTypeKind.Void)
            {
                writer.WriteLine(call + ";");
                writer.WriteLine(lease + ".Dispose();");
            }
            else
            {
                writer.WriteLine(method.ReturnType.NativeName + " __result = " + call + ";");
                writer.WriteLine(lease + ".Dispose();");
                writer.WriteLine("return __result;");
            }
        }

        // ---- [BorrowedView] structs (Templates/BorrowedView.cs) ------------------------------------

        public static string EmitBorrowedView(BorrowedViewSpec spec)
        {
            bool hasToOwned = spec.UpRefEntryPoint is not null && spec.OwnedTypeName is not null;
            var replacements = new List<KeyValuePair<string, string>>
            {
                new("__View__", spec.Type.ShortName),
                new("__Owner__", spec.OwnerName),
                new("\"__Library__\"", Literal(spec.LibraryName)),
            };
            var conditions = new HashSet<string>();
            if (hasToOwned)
            {
                conditions.Add("ToOwned");
                replacements.Add(new("__UpRefExtern__", "__PInvoke_" + Identifier(spec.UpRefEntryPoint!)));
                replacements.Add(new("__UpRef__", spec.UpRefEntryPoint!));
                replacements.Add(new("__Owned__", spec.OwnedTypeName!));
            }

            var writer = new SourceWriter();
            OpenType(writer, spec.Type, attributes: DebuggerDisplay, baseList: null);
            Template.Get("BorrowedView.cs").WriteTo(writer, replacements, conditions);
            CloseType(writer, spec.Type);
            return writer.ToString();
        }

        // ---- [OwnedHandle] structs (Templates/OwnedHandle.cs) --------------------------------------

        public static string EmitOwnedHandle(OwnedHandleSpec spec)
        {
            var replacements = new List<KeyValuePair<string, string>>
            {
                new("__HandleFullName__", spec.Type.FullName),
                new("__Handle__", spec.Type.ShortName),
                new("\"__Library__\"", Literal(spec.LibraryName)),
                new("__FreeExtern__", "__PInvoke_" + Identifier(spec.FreeEntryPoint)),
                new("__Free__", spec.FreeEntryPoint),
            };
            var conditions = new HashSet<string>();
            if (spec.UpRefEntryPoint is not null)
            {
                conditions.Add("Duplicate");
                replacements.Add(new("__UpRefExtern__", "__PInvoke_" + Identifier(spec.UpRefEntryPoint)));
                replacements.Add(new("__UpRef__", spec.UpRefEntryPoint));
            }

            var writer = new SourceWriter();
            OpenType(writer, spec.Type, DebuggerDisplay, "global::System.IDisposable, global::System.IEquatable<" + spec.Type.FullName + ">");
            Template.Get("OwnedHandle.cs").WriteTo(writer, replacements, conditions);
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
