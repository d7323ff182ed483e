//! `project list|create|members`.

use maestro_client::requests::{AddMember, ProjectInput};
use maestro_domain::model::{Project, ProjectMember};

use crate::cli::{MembersCommand, ProjectCommand};
use crate::context::Ctx;
use crate::error::Result;
use crate::output::{ago, clip, fields, table};

pub async fn run(ctx: &Ctx, cmd: ProjectCommand) -> Result<()> {
    let c = &ctx.client;
    match cmd {
        ProjectCommand::List => {
            let projects = c.list_projects().await?;
            ctx.out.show(&projects, || projects_table(&projects))
        }
        ProjectCommand::Create {
            name,
            working_dir,
            description,
        } => {
            let p = c
                .create_project(&ProjectInput {
                    name: Some(name),
                    working_dir,
                    description,
                })
                .await?;
            ctx.out.show(&p, || project_fields(&p))
        }
        ProjectCommand::Members { action } => {
            let project = ctx.project()?;
            match action.unwrap_or(MembersCommand::List) {
                MembersCommand::List => {
                    let members = c.list_members(project).await?;
                    ctx.out.show(&members, || members_table(&members))
                }
                MembersCommand::Add { user, role } => {
                    let (user_id, email) = if user.contains('@') {
                        (None, Some(user))
                    } else {
                        (Some(user), None)
                    };
                    let m = c
                        .add_member(
                            project,
                            &AddMember {
                                user_id,
                                email,
                                role: Some(role),
                            },
                        )
                        .await?;
                    ctx.out.show(&m, || members_table(std::slice::from_ref(&m)))
                }
                MembersCommand::Role { user_id, role } => {
                    let m = c.set_member_role(project, &user_id, &role).await?;
                    ctx.out.show(&m, || members_table(std::slice::from_ref(&m)))
                }
                MembersCommand::Remove { user_id } => {
                    let r = c.remove_member(project, &user_id).await?;
                    ctx.out.show(&r, || {
                        format!("Removed {} from {}", r.user_id, r.project_id)
                    })
                }
            }
        }
    }
}

fn projects_table(projects: &[Project]) -> String {
    table(
        ["ID", "NAME", "WORKING DIR", "UPDATED"],
        projects
            .iter()
            .map(|p| {
                [
                    p.id.clone(),
                    clip(&p.name, 40),
                    clip(&p.working_dir, 50),
                    ago(p.updated_at),
                ]
            })
            .collect(),
        "No projects",
    )
}

fn project_fields(p: &Project) -> String {
    fields(&[
        ("id", p.id.clone()),
        ("name", p.name.clone()),
        ("working dir", p.working_dir.clone()),
        ("description", p.description.clone()),
    ])
}

fn members_table(members: &[ProjectMember]) -> String {
    table(
        ["USER", "EMAIL", "ROLE", "ADDED"],
        members
            .iter()
            .map(|m| {
                [
                    m.user_id.clone(),
                    m.email.clone().unwrap_or_default(),
                    m.role.to_string(),
                    ago(m.added_at),
                ]
            })
            .collect(),
        "No members",
    )
}
