//! Every particle in one instanced draw, on WebGL2 and native.
//!
//! At extract, when the pool or the looks changed, the simulation's pack kernel writes the
//! live particles (position, size, packed colour: 20 bytes each) straight into the staging
//! memory of a write to one persistent vertex buffer (`Queue::write_buffer_with`, live
//! particles only; the buffer grows by doubling). Per frame at 1,000,000 particles the
//! pack writes 20 MB there and wgpu copies them into the GPU buffer (on WebGL2,
//! `bufferSubData` from wasm memory, after zero-filling the staging `Vec` it makes), where
//! packing into records of our own and then `write_buffer` took one more read and write.
//! A small uniform carries the camera, and one `draw(0..6, 0..n)` in the opaque 3D phase
//! draws them all as camera-facing soft sprites with additive blending. No storage
//! buffers, no compute.

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
    BlendFactor, BlendOperation, BlendState, Buffer, BufferDescriptor, BufferId, BufferSize,
    BufferUsages, Canonical, ColorTargetState, ColorWrites, CompareFunction, DepthStencilState,
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
use crate::perf::{Phase, PhaseSpan, RenderMeasurements};
use crate::sim::{InstanceRecord, PacksForRenderer, pack_for_renderer};

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
        .init_resource::<ParticleGpu>()
        .init_resource::<PendingParticleQueues>()
        .init_resource::<ParticlePipeline>()
        .add_render_command::<Opaque3d, DrawParticleCommands>()
        .add_systems(ExtractSchedule, pack_into_instances)
        .add_systems(
            Render,
            (
                write_camera_uniforms.in_set(RenderSystems::PrepareResources),
                prepare_bind_group.in_set(RenderSystems::PrepareBindGroups),
                queue_particles.in_set(RenderSystems::Queue),
            ),
        );
    // The pack runs at extract, into the memory wgpu copies to the GPU from.
    app.init_resource::<PacksForRenderer>();
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

/// Packs the live particles, when the simulation wants a pack, into the staging memory of
/// a write of the persistent vertex buffer (grown first, by doubling, if they no longer
/// fit). wgpu copies them into the buffer at the next submit. The pack's time goes to the
/// pack phase; the rest (growing, the staging memory, queueing the copy) to upload, with
/// the allocations inside wgpu's calls counted apart from our own.
fn pack_into_instances(
    mut main_world: ResMut<MainWorld>,
    device: Res<RenderDevice>,
    queue: Res<RenderQueue>,
    mut gpu: ResMut<ParticleGpu>,
    mut unaligned: Local<Vec<u32>>,
    measurements: Res<RenderMeasurements>,
) {
    pack_for_renderer(&mut main_world, |records, pack| {
        let bytes = records * size_of::<InstanceRecord>();
        let Some(size) = u64::try_from(bytes).ok().and_then(BufferSize::new) else {
            // Nothing to write or draw: the (empty) pack is still run and reported.
            gpu.count = 0;
            pack(&mut []);
            return;
        };
        let span = PhaseSpan::start(Phase::Upload);
        let mut inside_wgpu = 0;
        let buffer = gpu.instances_with_room(&device, size.get(), &measurements, &mut inside_wgpu);
        let view = in_wgpu(&mut inside_wgpu, || {
            queue.write_buffer_with(buffer, 0, size)
        });
        let Some(mut view) = view else {
            // wgpu refused the write (its error handler has the reason): draw nothing
            // until a later frame's pack gets through.
            gpu.count = 0;
            measurements.record_upload(span, inside_wgpu);
            return;
        };
        let staged = memory::mapped::staging_words(&mut view);
        if let Err(bytes) = &staged {
            // No backend gives such memory; packing aside and copying in still works.
            unaligned.clear();
            unaligned.resize(bytes.len().div_ceil(size_of::<u32>()), 0);
        }
        measurements.record_upload(span, inside_wgpu);
        match staged {
            Ok(words) => pack(words),
            Err(mut bytes) => {
                pack(&mut unaligned);
                let span = PhaseSpan::start(Phase::Upload);
                bytes.copy_from_slice(&bytemuck::cast_slice(unaligned.as_slice())[..bytes.len()]);
                measurements.record_upload(span, 0);
            }
        }
        let span = PhaseSpan::start(Phase::Upload);
        let mut inside_wgpu = 0;
        in_wgpu(&mut inside_wgpu, || drop(view));
        measurements.record_upload(span, inside_wgpu);
        gpu.count = u32::try_from(records).unwrap_or(u32::MAX);
    });
}

/// Runs `call`, a call into wgpu, adding the allocations it made on this thread to
/// `allocations`.
fn in_wgpu<T>(allocations: &mut u64, call: impl FnOnce() -> T) -> T {
    let before = memory::thread_allocations();
    let result = call();
    *allocations += memory::thread_allocations() - before;
    result
}

impl ParticleGpu {
    /// The instance buffer, replaced by one at least twice as large when it holds fewer
    /// than `needed` bytes.
    fn instances_with_room(
        &mut self,
        device: &RenderDevice,
        needed: u64,
        measurements: &RenderMeasurements,
        inside_wgpu: &mut u64,
    ) -> &Buffer {
        let buffer = match self.instances.take() {
            Some(buffer) if buffer.size() >= needed => buffer,
            small => {
                let mut grown = small
                    .as_ref()
                    .map_or(0, |buffer| buffer.size())
                    .max(64 * 1024);
                while grown < needed {
                    grown *= 2;
                }
                measurements.set_instance_buffer_bytes(grown);
                // Dropping the old buffer is wgpu's work too (it queues it for destruction).
                in_wgpu(inside_wgpu, || {
                    drop(small);
                    device.create_buffer(&BufferDescriptor {
                        label: Some("particle instances"),
                        size: grown,
                        usage: BufferUsages::VERTEX | BufferUsages::COPY_DST,
                        mapped_at_creation: false,
                    })
                })
            }
        };
        self.instances.insert(buffer)
    }
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
    type Param = (SRes<ParticleGpu>, SRes<RenderMeasurements>);
    type ViewQuery = Read<ParticleCameraOffset>;
    type ItemQuery = ();

    fn render<'w>(
        _item: &P,
        camera: ROQueryItem<'w, '_, Self::ViewQuery>,
        _entity: Option<ROQueryItem<'w, '_, Self::ItemQuery>>,
        (gpu, measurements): SystemParamItem<'w, '_, Self::Param>,
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
        measurements.record_draw();
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
