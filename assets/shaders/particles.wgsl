// sparkbench particles: one camera-facing soft round sprite per instance, drawn from a
// per-instance vertex buffer (position, size, packed colour). No storage buffers, so it runs
// on WebGL2.

struct ParticleCamera {
    clip_from_world: mat4x4<f32>,
    // Camera right and up in world space (w unused), to face sprites at the camera.
    right: vec4<f32>,
    up: vec4<f32>,
};

@group(0) @binding(0) var<uniform> camera: ParticleCamera;

struct VertexOutput {
    @builtin(position) clip_position: vec4<f32>,
    // -1..1 across the sprite.
    @location(0) corner: vec2<f32>,
    @location(1) color: vec4<f32>,
};

// Two triangles covering the sprite's square.
const CORNERS = array<vec2<f32>, 6>(
    vec2<f32>(-1.0, -1.0), vec2<f32>(1.0, -1.0), vec2<f32>(1.0, 1.0),
    vec2<f32>(-1.0, -1.0), vec2<f32>(1.0, 1.0), vec2<f32>(-1.0, 1.0),
);

@vertex
fn vertex(
    @builtin(vertex_index) vertex_index: u32,
    @location(0) position: vec3<f32>,
    @location(1) size: f32,
    @location(2) color: vec4<f32>,
) -> VertexOutput {
    var corners = CORNERS;
    let corner = corners[vertex_index];
    let offset = (camera.right.xyz * corner.x + camera.up.xyz * corner.y) * (0.5 * size);
    var out: VertexOutput;
    out.clip_position = camera.clip_from_world * vec4<f32>(position + offset, 1.0);
    out.corner = corner;
    // The packed colour is sRGB; blending happens in linear space.
    out.color = vec4<f32>(pow(color.rgb, vec3<f32>(2.2)), color.a);
    return out;
}

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    let r2 = dot(in.corner, in.corner);
    if r2 >= 1.0 {
        discard;
    }
    // A soft disc: bright centre, fading to nothing at the rim. Premultiplied for additive blending.
    let glow = (1.0 - r2) * (1.0 - r2) * in.color.a;
    return vec4<f32>(in.color.rgb * glow, glow);
}
