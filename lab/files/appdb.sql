-- Sample business data of the cloud-onboarding platform (政务云上云服务平台).
-- Deterministic: the same rows on every lab. Loaded once, as role `app`.
SET ROLE app;

CREATE TABLE departments (
    id          integer PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL
);

CREATE TABLE applications (
    id            integer PRIMARY KEY,
    department_id integer NOT NULL REFERENCES departments(id),
    system_name   text NOT NULL,
    vcpu          integer NOT NULL CHECK (vcpu > 0),
    memory_gib    integer NOT NULL CHECK (memory_gib > 0),
    disk_gib      integer NOT NULL CHECK (disk_gib > 0),
    status        text NOT NULL CHECK (status IN ('submitted', 'approved', 'rejected', 'delivered')),
    submitted_at  timestamptz NOT NULL
);
CREATE INDEX applications_department_idx ON applications (department_id);

CREATE TABLE approvals (
    id             integer PRIMARY KEY,
    application_id integer NOT NULL REFERENCES applications(id),
    step           integer NOT NULL,
    approver       text NOT NULL,
    decision       text NOT NULL CHECK (decision IN ('approve', 'reject')),
    decided_at     timestamptz NOT NULL
);
CREATE INDEX approvals_application_idx ON approvals (application_id);

INSERT INTO departments (id, code, name)
SELECT i, format('D%03s', i), format('第%s委办局', i)
FROM generate_series(1, 40) AS i;

INSERT INTO applications (id, department_id, system_name, vcpu, memory_gib, disk_gib, status, submitted_at)
SELECT i,
       1 + (i * 7) % 40,
       format('业务系统-%s', i),
       (ARRAY[2, 4, 8, 16])[1 + i % 4],
       (ARRAY[4, 8, 16, 32])[1 + (i / 3) % 4],
       100 + (i % 10) * 50,
       (ARRAY['submitted', 'approved', 'rejected', 'delivered'])[1 + (i * 13) % 4],
       timestamptz '2025-01-01 09:00+08' + (i * interval '97 minutes')
FROM generate_series(1, 5000) AS i;

INSERT INTO approvals (id, application_id, step, approver, decision, decided_at)
SELECT (a.id - 1) * 3 + s,
       a.id,
       s,
       format('审批人%s', 1 + (a.id + s) % 25),
       CASE WHEN a.status = 'rejected' AND s = 3 THEN 'reject' ELSE 'approve' END,
       a.submitted_at + s * interval '1 day'
FROM applications a CROSS JOIN generate_series(1, 3) AS s
WHERE a.status <> 'submitted';

ANALYZE;
