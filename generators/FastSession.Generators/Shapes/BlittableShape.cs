using FastSession.Generators.Helpers;
using FastSession.Generators.Model;

namespace FastSession.Generators.Shapes
{
    /// <summary>Primitives and pointers: passed and returned as they are.</summary>
    internal sealed class BlittableShape : ParameterShape
    {
        public static readonly BlittableShape Instance = new();

        public override string Argument(ParameterSpec parameter) => parameter.Name;
    }
}
