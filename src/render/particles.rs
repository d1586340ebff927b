//! Every particle in one instanced draw, on WebGL2 and native.
//!
//! The simulation's pack (`sim::pack`) leaves the live particles in `InstanceRecords`
//! (position, size, packed colour: 20 bytes each). Extract swaps freshly packed records
//! with the render world's buffer (no copying, no allocation). Render world: the records
//! go into one persistent vertex buffer that
//! grows by doubling (`write_buffer` of the live particles only), a small uniform carries
//! the camera, and one `draw(0..6, 0..n)` in the opaque 3D phase draws them all as
//! camera-facing soft sprites with additive blending. No storage buffers, no compute.

use bevy::camera::primitives::Aabb;
use bevy::camera::visibility::{self, NoFrustumCulling, VisibilityClass};
use bevy::core_pipeline::core_3d::{
    CORE_3D_DEPTH_FORMAT, Opaque3d, Opaque3dBatchSetKey, Opaque3dBinKey,
};
use bevy::ecs::query::ROQueryItem;
use bevy::ecs::system::SystemParamItem;
use bevy::ecs::system::lifetimeless::{Read, SRes};
use bevy::mesh::VertexBufferLayout;
use bevy::prelude::*;
use bevy::render::camera::{DirtySpecializations, PendingQueues};
use bevy::render::extract_component::{ExtractComponent, ExtractComponentPlugin};
use bevy::render::mesh::allocator::MeshSlabs;
use bevy::render::render_phase::{
    AddRenderCommand, BinnedRenderPhaseType, DrawFunctions, InputUniformIndex, PhaseItem,
    RenderCommand, RenderCommandResult, SetItemPipeline, TrackedRenderPass, ViewBinnedRenderPhases,
};
use bevy::render::render_resource::binding_types::uniform_buffer;
use bevy::render::render_resource::{
    BindGroup, BindGroupEntries, BindGroupLayoutDescriptor, BindGroupLayoutEntries, BlendComponent,
    BlendFactor, BlendOperation, BlendState, Buffer, BufferDescriptor, BufferId, BufferUsages,
    Canonical, ColorTargetState, ColorWrites, CompareFunction, DepthStencilState,
    DynamicUniformBuffer, FragmentState, PipelineCache, RenderPipeline, RenderPipelineDescriptor,
    ShaderStages, ShaderType, Specializer, SpecializerKey, TextureFormat, Variants,
    VertexAttribute, VertexFormat, VertexState, VertexStepMode,
};
use bevy::render::renderer::{RenderDevice, RenderQueue};
use bevy::render::sync_world::MainEntityHashSet;
use bevy::render::view::{ExtractedView, RenderVisibleEntities};
use bevy::render::{MainWorld, Render, RenderApp, RenderSystems};
use bevy::shader::Shader;

use crate::memory;
use crate::perf::{PhaseSpan, RenderMeasurements};
use crate::sim::{InstanceRecord, InstanceRecords};

/// The render world's copy of the instance records: the last ones packed, and whether they
/// still need uploading.
#[derive(Resource, Debug, Default)]
struct RenderRecords {
    records: Vec<InstanceRecord>,
    fresh: bool,
}

/// The entity that stands for the whole particle cloud in Bevy's visibility and phases.
#[derive(Component, Clone, Copy, ExtractComponent)]
#[require(VisibilityClass)]
#[component(on_add = visibility::add_visibility_class::<ParticleCloud>)]
#[extract_app(RenderApp)]
pub struct ParticleCloud;

const SHADER_SOURCE: &str = include_str!("../../assets/shaders/particles.wgsl");

pub(super) fn plugin(app: &mut App) {
    let shader = app
        .world_mut()
        .resource_mut::<Assets<Shader>>()
        .add(Shader::from_wgsl(SHADER_SOURCE, "shaders/particles.wgsl"));
    app.add_plugins(ExtractComponentPlugin::<ParticleCloud>::default())
        .add_systems(Startup, spawn_cloud);
    let measurements = app
        .world_mut()
        .get_resource_or_init::<RenderMeasurements>()
        .clone();
    let Some(render_app) = app.get_sub_app_mut(RenderApp) else {
        return;
    };
    render_app
        .insert_resource(ParticleShader(shader))
        .insert_resource(measurements)
        .init_resource::<RenderRecords>()
        .init_resource::<ParticleGpu>()
        .init_resource::<PendingParticleQueues>()
        .init_resource::<ParticlePipeline>()
        .add_render_command::<Opaque3d, DrawParticleCommands>()
        .add_systems(ExtractSchedule, swap_instances)
        .add_systems(
            Render,
            (
                (upload_instances, write_camera_uniforms).in_set(RenderSystems::PrepareResources),
                prepare_bind_group.in_set(RenderSystems::PrepareBindGroups),
                queue_particles.in_set(RenderSystems::Queue),
            ),
        );
}

fn spawn_cloud(mut commands: Commands) {
    commands.spawn((
        Name::new("Particles"),
        ParticleCloud,
        Transform::default(),
        Visibility::default(),
        // The cloud moves every frame; it is drawn whatever the camera looks at.
        Aabb::from_min_max(Vec3::splat(-1.0e4), Vec3::splat(1.0e4)),
        NoFrustumCulling,
    ));
}

/// Takes freshly packed records from the main world, giving back the buffer drawn before
/// for the next pack to fill. Without fresh ones the render world draws what it has.
fn swap_instances(mut main_world: ResMut<MainWorld>, mut render_side: ResMut<RenderRecords>) {
    if let Some(mut packed) = main_world.get_resource_mut::<InstanceRecords>()
        && packed.take_fresh(&mut render_side.records)
    {
        render_side.fresh = true;
    }
}

#[derive(Resource)]
struct ParticleShader(Handle<Shader>);

/// The GPU side: the persistent instance buffer, the camera uniforms and their bind group.
#[derive(Resource, Default)]
struct ParticleGpu {
    instances: Option<Buffer>,
    count: u32,
    cameras: DynamicUniformBuffer<ParticleCamera>,
    bind_group: Option<BindGroup>,
    /// The camera buffer `bind_group` binds: it is made again only when that changes.
    bound_cameras: Option<BufferId>,
}

/// The camera as the shader reads it.
#[derive(Clone, Copy, ShaderType)]
struct ParticleCamera {
    clip_from_world: Mat4,
    right: Vec4,
    up: Vec4,
}

/// Offset of a view's camera in [`ParticleGpu::cameras`].
#[derive(Component)]
struct ParticleCameraOffset(u32);

/// Writes the live instances into the persistent vertex buffer, first growing it (by
/// doubling) if they no longer fit.
fn upload_instances(
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    mut packed: ResMut<RenderRecords>,
    mut gpu: ResMut<ParticleGpu>,
    measurements: Res<RenderMeasurements>,
) {
    if !packed.fresh {
        return;
    }
    let span = PhaseSpan::start();
    let mut inside_wgpu = 0;
    packed.fresh = false;
    let bytes: &[u8] = bytemuck::cast_slice(&packed.records);
    gpu.count = u32::try_from(packed.records.len()).unwrap_or(u32::MAX);
    if bytes.is_empty() {
        return;
    }
    let needed = bytes.len() as u64;
    let capacity = gpu.instances.as_ref().map_or(0, |buffer| buffer.size());
    if capacity < needed {
        let mut grown = capacity.max(64 * 1024);
        while grown < needed {
            grown *= 2;
        }
        let before = memory::thread_allocations();
        gpu.instances = Some(device.create_buffer(&BufferDescriptor {
            label: Some("particle instances"),
            size: grown,
            usage: BufferUsages::VERTEX | BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }));
        inside_wgpu += memory::thread_allocations() - before;
        measurements.set_instance_buffer_bytes(grown);
    }
    if let Some(buffer) = &gpu.instances {
        let before = memory::thread_allocations();
        queue.write_buffer(buffer, 0, bytes);
        inside_wgpu += memory::thread_allocations() - before;
    }
    measurements.record_upload(span, inside_wgpu);
}

fn write_camera_uniforms(
    mut commands: Commands,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    mut gpu: ResMut<ParticleGpu>,
    views: Query<(Entity, &ExtractedView)>,
) {
    gpu.cameras.clear();
    for (entity, view) in &views {
        let world_from_view = view.world_from_view.to_matrix();
        let clip_from_world = view
            .clip_from_world
            .unwrap_or_else(|| view.clip_from_view * world_from_view.inverse());
        let offset = gpu.cameras.push(&ParticleCamera {
            clip_from_world,
            right: world_from_view.x_axis,
            up: world_from_view.y_axis,
        });
        commands.entity(entity).insert(ParticleCameraOffset(offset));
    }
    gpu.cameras.write_buffer(&device, &queue);
}

/// Binds the camera uniforms, making the bind group again only when their buffer was
/// replaced (it grows with the number of views), not every frame.
fn prepare_bind_group(
    device: Res<RenderDevice>,
    pipeline_cache: Res<PipelineCache>,
    pipeline: Res<ParticlePipeline>,
    mut gpu: ResMut<ParticleGpu>,
) {
    let buffer = gpu.cameras.buffer().map(Buffer::id);
    if buffer == gpu.bound_cameras && gpu.bind_group.is_some() {
        return;
    }
    let bind_group = gpu.cameras.binding().map(|binding| {
        device.create_bind_group(
            "particle camera",
            &pipeline_cache.get_bind_group_layout(&pipeline.camera_layout),
            &BindGroupEntries::single(binding),
        )
    });
    gpu.bind_group = bind_group;
    gpu.bound_cameras = buffer;
}

/// Binds the camera and the instances, then draws six vertices per live particle.
struct DrawParticles;

impl<P: PhaseItem> RenderCommand<P> for DrawParticles {
    type Param = SRes<ParticleGpu>;
    type ViewQuery = Read<ParticleCameraOffset>;
    type ItemQuery = ();

    fn render<'w>(
        _item: &P,
        camera: ROQueryItem<'w, '_, Self::ViewQuery>,
        _entity: Option<ROQueryItem<'w, '_, Self::ItemQuery>>,
        gpu: SystemParamItem<'w, '_, Self::Param>,
        pass: &mut TrackedRenderPass<'w>,
    ) -> RenderCommandResult {
        let gpu = gpu.into_inner();
        let (Some(buffer), Some(bind_group)) = (&gpu.instances, &gpu.bind_group) else {
            return RenderCommandResult::Skip;
        };
        if gpu.count == 0 {
            return RenderCommandResult::Skip;
        }
        pass.set_bind_group(0, bind_group, &[camera.0]);
        pass.set_vertex_buffer(0, buffer.slice(..));
        pass.draw(0..6, 0..gpu.count);
        RenderCommandResult::Success
    }
}

type DrawParticleCommands = (SetItemPipeline, DrawParticles);

/// Entities whose queueing waits on something (required by Bevy's specialization tracking;
/// the particle pipeline never waits).
#[derive(Resource, Default, Deref, DerefMut)]
struct PendingParticleQueues(PendingQueues);

#[derive(Resource)]
struct ParticlePipeline {
    camera_layout: BindGroupLayoutDescriptor,
    variants: Variants<RenderPipeline, ParticleSpecializer>,
}

impl FromWorld for ParticlePipeline {
    fn from_world(world: &mut World) -> Self {
        let shader = world.resource::<ParticleShader>().0.clone();
        let camera_layout = BindGroupLayoutDescriptor::new(
            "particle camera layout",
            &BindGroupLayoutEntries::single(
                ShaderStages::VERTEX,
                uniform_buffer::<ParticleCamera>(true),
            ),
        );
        let instance_layout = VertexBufferLayout {
            array_stride: size_of::<InstanceRecord>() as u64,
            step_mode: VertexStepMode::Instance,
            attributes: vec![
                VertexAttribute {
                    format: VertexFormat::Float32x3,
                    offset: 0,
                    shader_location: 0,
                },
                VertexAttribute {
                    format: VertexFormat::Float32,
                    offset: 12,
                    shader_location: 1,
                },
                VertexAttribute {
                    format: VertexFormat::Unorm8x4,
                    offset: 16,
                    shader_location: 2,
                },
            ],
        };
        let additive = BlendComponent {
            src_factor: BlendFactor::One,
            dst_factor: BlendFactor::One,
            operation: BlendOperation::Add,
        };
        let descriptor = RenderPipelineDescriptor {
            label: Some("particles".into()),
            layout: vec![camera_layout.clone()],
            vertex: VertexState {
                shader: shader.clone(),
                buffers: vec![instance_layout],
                ..default()
            },
            fragment: Some(FragmentState {
                shader,
                targets: vec![Some(ColorTargetState {
                    format: TextureFormat::Rgba8UnormSrgb,
                    blend: Some(BlendState {
                        color: additive,
                        alpha: additive,
                    }),
                    write_mask: ColorWrites::ALL,
                })],
                ..default()
            }),
            // Drawn in the opaque pass but see-through: test nothing, write nothing.
            depth_stencil: Some(DepthStencilState {
                format: CORE_3D_DEPTH_FORMAT,
                depth_write_enabled: Some(false),
                depth_compare: Some(CompareFunction::Always),
                stencil: default(),
                bias: default(),
            }),
            ..default()
        };
        Self {
            camera_layout,
            variants: Variants::new(ParticleSpecializer, descriptor),
        }
    }
}

struct ParticleSpecializer;

/// What differs between views: MSAA samples and the colour target's format.
#[derive(Clone, Copy, PartialEq, Eq, Hash, SpecializerKey)]
struct ParticleKey {
    msaa: Msaa,
    format: TextureFormat,
}

impl Specializer<RenderPipeline> for ParticleSpecializer {
    type Key = ParticleKey;

    fn specialize(
        &self,
        key: Self::Key,
        descriptor: &mut RenderPipelineDescriptor,
    ) -> Result<Canonical<Self::Key>, BevyError> {
        descriptor.multisample.count = key.msaa.samples();
        if let Some(target) = descriptor
            .fragment
            .as_mut()
            .and_then(|fragment| fragment.targets.first_mut())
            .and_then(Option::as_mut)
        {
            target.format = key.format;
        }
        Ok(key)
    }
}

/// Puts the particle cloud into each view's opaque phase (once; Bevy keeps it binned).
fn queue_particles(
    pipeline_cache: Res<PipelineCache>,
    mut pipeline: ResMut<ParticlePipeline>,
    mut phases: ResMut<ViewBinnedRenderPhases<Opaque3d>>,
    draw_functions: Res<DrawFunctions<Opaque3d>>,
    views: Query<(&ExtractedView, &RenderVisibleEntities, &Msaa)>,
    dirty: Res<DirtySpecializations>,
    mut pending: ResMut<PendingParticleQueues>,
    mut queued_scratch: Local<MainEntityHashSet>,
) {
    let draw = draw_functions.read().id::<DrawParticleCommands>();
    for (view, visible, msaa) in &views {
        let Some(phase) = phases.get_mut(&view.retained_view_entity) else {
            continue;
        };
        let Some(clouds) = visible.get::<ParticleCloud>() else {
            continue;
        };
        let view_pending = pending.prepare_for_new_frame(view.retained_view_entity);
        for &main_entity in dirty.iter_to_dequeue(view.retained_view_entity, clouds) {
            phase.remove(main_entity);
        }
        for (render_entity, main_entity) in dirty.iter_to_queue(
            view.retained_view_entity,
            clouds,
            &view_pending.prev_frame,
            &mut queued_scratch,
        ) {
            let key = ParticleKey {
                msaa: *msaa,
                format: view.target_format,
            };
            let Ok(pipeline_id) = pipeline.variants.specialize(&pipeline_cache, key) else {
                continue;
            };
            phase.add(
                Opaque3dBatchSetKey {
                    draw_function: draw,
                    pipeline: pipeline_id,
                    material_bind_group_index: None,
                    lightmap_slab: None,
                    slabs: MeshSlabs::default(),
                },
                Opaque3dBinKey {
                    asset_id: AssetId::<Mesh>::default().untyped(),
                },
                (*render_entity, *main_entity),
                InputUniformIndex::default(),
                BinnedRenderPhaseType::NonMesh,
            );
        }
    }
}
