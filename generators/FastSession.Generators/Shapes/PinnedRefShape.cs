using FastSession.Generators.Helpers;
using FastSession.Generators.Model;

namespace FastSession.Generators.Shapes
{
    /// <summary>
    /// <c>out T</c> / <c>ref T</c> of an unmanaged T (an int the shim fills, a mirrored struct): pinned for the call
    /// and passed as <c>T*</c>. An <c>out</c> struct is not zeroed first (<c>Unsafe.SkipInit</c>): the native
    /// function writes it, and zeroing a snapshot struct on every call would cost what the snapshot saves; an
    /// <c>out</c> primitive is zeroed (one store).
    /// </summary>
    internal sealed class PinnedRefShape : ParameterShape
    {
        public static readonly PinnedRefShape Instance = new();

        public override void WriteOpen(SourceWriter writer, ParameterSpec parameter)
        {
            if (parameter.Modifiers == "out ")
            {
                // Primitives (keywords) are zeroed: a length the shim writes only on some paths must not be garbage.
                writer.WriteLine(parameter.Type.ManagedName.StartsWith("global::", System.StringComparison.Ordinal)
                    ? "global::System.Runtime.CompilerServices.Unsafe.SkipInit(out " + parameter.Name + ");"
                    : parameter.Name + " = default;");
            }

            writer.OpenBlock("fixed (" + parameter.Type.NativeName + " " + PinName(parameter) + " = &" + parameter.Name + ")");
        }

        public override string Argument(ParameterSpec parameter) => PinName(parameter);

        public override void WriteClose(SourceWriter writer, ParameterSpec parameter) => writer.CloseBlock();

        private static string PinName(ParameterSpec parameter) => "__" + parameter.LocalName + "_pin";
    }
}
