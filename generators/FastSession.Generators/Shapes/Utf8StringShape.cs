using FastSession.Generators.Helpers;
using FastSession.Generators.Model;

namespace FastSession.Generators.Shapes
{
    /// <summary>
    /// <c>string</c>: passed as a NUL-terminated UTF-8 <c>byte*</c>, encoded into a 256-byte stack buffer (a heap
    /// buffer only when the encoded string and its NUL need more than 256 bytes). <c>string?</c> passes NULL for null; a non-nullable <c>string</c> throws
    /// <see cref="System.ArgumentNullException"/>. An embedded NUL throws <see cref="System.ArgumentException"/>,
    /// because C would silently read a shorter string.
    /// </summary>
    internal sealed class Utf8StringShape : ParameterShape
    {
        public static readonly Utf8StringShape Instance = new();

        public override void WriteCheck(SourceWriter writer, ParameterSpec parameter)
        {
            string name = parameter.Name;
            bool nullable = IsNullable(parameter);
            if (!nullable)
            {
                writer.WriteLine("global::System.ArgumentNullException.ThrowIfNull(" + name + ");");
            }

            writer.OpenBlock("if (" + (nullable ? name + " is not null && " : string.Empty) + name + ".Contains('\\0'))");
            writer.WriteLine("throw new global::System.ArgumentException(\"The string contains a NUL character, which would end it early on the native side.\", \"" + parameter.LocalName + "\");");
            writer.CloseBlock();
            writer.WriteLine();
        }

        public override void WriteOpen(SourceWriter writer, ParameterSpec parameter)
        {
            string name = parameter.Name;
            string local = parameter.LocalName;
            string buffer = "__" + local + "_utf8";
            bool nullable = IsNullable(parameter);
            writer.WriteLine("global::System.Span<byte> " + buffer + " = stackalloc byte[256];");
            if (nullable)
            {
                writer.OpenBlock("if (" + name + " is not null)");
            }

            writer.WriteLine("int __" + local + "_max = global::System.Text.Encoding.UTF8.GetMaxByteCount(" + name + ".Length) + 1;");
            // The exact count (a second pass) only when the bound overflows the stack buffer: a 255-byte host name stays on the stack.
            writer.OpenBlock("if (__" + local + "_max > " + buffer + ".Length && (__" + local + "_max = global::System.Text.Encoding.UTF8.GetByteCount(" + name + ") + 1) > " + buffer + ".Length)");
            writer.WriteLine(buffer + " = new byte[__" + local + "_max];");
            writer.CloseBlock();
            writer.WriteLine();
            writer.WriteLine(buffer + "[global::System.Text.Encoding.UTF8.GetBytes(" + name + ", " + buffer + ")] = 0;");
            if (nullable)
            {
                writer.CloseBlock();
            }

            writer.WriteLine();
            writer.OpenBlock("fixed (byte* " + PinName(parameter) + " = " + buffer + ")");
        }

        public override string Argument(ParameterSpec parameter)
            => IsNullable(parameter) ? "(" + parameter.Name + " is null ? null : " + PinName(parameter) + ")" : PinName(parameter);

        public override void WriteClose(SourceWriter writer, ParameterSpec parameter) => writer.CloseBlock();

        private static bool IsNullable(ParameterSpec parameter) => parameter.Type.ManagedName.EndsWith("?", System.StringComparison.Ordinal);

        private static string PinName(ParameterSpec parameter) => "__" + parameter.LocalName + "_pin";
    }
}
