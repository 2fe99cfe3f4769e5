--
-- PostgreSQL database dump
--

\restrict ttvsq8rwJ8iRpuJHaYBtnJ81iCI0uZpKBZbCOIpeKhLVqyb6oqKSGAi8RFSamDW

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: log; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.log (
    leaf_index bigint NOT NULL,
    precinct bigint NOT NULL,
    revision bigint NOT NULL,
    outcome integer NOT NULL,
    payload_hash bytea NOT NULL,
    leaf_hash bytea NOT NULL,
    figures bytea NOT NULL,
    leaf bytea NOT NULL,
    CONSTRAINT log_leaf_hash_check CHECK ((length(leaf_hash) = 32)),
    CONSTRAINT log_leaf_index_check CHECK ((leaf_index >= 0)),
    CONSTRAINT log_payload_hash_check CHECK ((length(payload_hash) = 32))
);


--
-- Name: log_head; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.log_head (
    id integer NOT NULL,
    next_leaf bigint NOT NULL,
    CONSTRAINT log_head_id_check CHECK ((id = 1)),
    CONSTRAINT log_head_next_leaf_check CHECK ((next_leaf >= 0))
);


--
-- Name: meta; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.meta (
    key text NOT NULL,
    value text NOT NULL
);


--
-- Name: schema_version; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.schema_version (
    version integer NOT NULL
);


--
-- Name: submissions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.submissions (
    id bigint NOT NULL,
    received_ms bigint NOT NULL,
    peer_region text NOT NULL,
    peer_node text NOT NULL,
    seq bigint NOT NULL,
    precinct bigint,
    revision bigint,
    outcome integer NOT NULL,
    reject_code integer NOT NULL,
    reason text NOT NULL,
    leaf_index bigint,
    signed bytea,
    instance text NOT NULL
);


--
-- Name: submissions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.submissions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: submissions_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.submissions_id_seq OWNED BY public.submissions.id;


--
-- Name: submissions id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.submissions ALTER COLUMN id SET DEFAULT nextval('public.submissions_id_seq'::regclass);


--
-- Data for Name: log; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.log (leaf_index, precinct, revision, outcome, payload_hash, leaf_hash, figures, leaf) FROM stdin;
0	1	1	1	\\x92d2e3bafbe94cefba6f1e2eae9074bc37bf6d22606cde627962dab2d8d6944b	\\x1185d8036b33b504c87c77ad60fadd2d194ae8886f23ce3999a5136a94883a9c	\\x860100006400000000000000000000003c00000028000000	\\x0a3c0a1373796e7468657469632d32722d3132702d733512054b5a2d31301801200128860330643864486462070a03796573103c62060a026e6f1028680112407e6ba500e101dfecd35fdab0187b5d71a50867e1859b858cd9683f5c0ac92f20c13b71945cac52ebe6dfe8dcc506edb072ff7b0e7133e712a3ee23acdf7a41011a4031313836636664376432333634663839303331666432366334666136373839383930366134626332373235633131643732313733616533636432633634643461
1	2	1	1	\\x66a200c1bf48e46a6e98ce4a2511c9c8b3345469b315614d6405478781ec63af	\\x85da443ee9b962cf4b63e384d63327e0b4b3d62c856f2f4ffbd57730998f6bd6	\\x4e0b00006500000000000000000000003d00000028000000	\\x0a3c0a1373796e7468657469632d32722d3132702d733512054b5a2d31301802200128ce1630653865486562070a03796573103d62060a026e6f102868011240cb8185669f618045e0f653823f6e0b4d09faaef94646d689420e8381eb4f37b5ef78efee001e30bd21f18fc5219ea5f46ace3d66a079c8c09c86f4ce70bc3f031a4031313836636664376432333634663839303331666432366334666136373839383930366134626332373235633131643732313733616533636432633634643461
2	3	1	1	\\x538c91c7a57072d85d2671e6ebc62b97360e7537ccdfa5c0ba7b93dc42e4c488	\\x7ba1b17278add380d0a54b083d4ff4040e697dacf9f2da3af4b0eaa412107dc3	\\x650300006600000000000000000000003e00000028000000	\\x0a3c0a1373796e7468657469632d32722d3132702d733512054b5a2d31301803200128e50630663866486662070a03796573103e62060a026e6f1028680112404d73506b0f81be6b39c0cce16bc9ff597043b31e754d0a98b1bfc1933789dbcafadcbdbf8f4f13e83dfc1c01f353befd9663bdf16d988122552aba331e7a930f1a4031313836636664376432333634663839303331666432366334666136373839383930366134626332373235633131643732313733616533636432633634643461
3	4	1	1	\\x05e08823c4193de5b86278ec606fa4a45d888e28ad44e660662b3668ea135a19	\\x7529a9e2ff77e60cf5d5ec19b067cb642986efb51928b4b9bda980e754fc6d7a	\\xc90100006700000000000000000000003f00000028000000	\\x0a3c0a1373796e7468657469632d32722d3132702d733512054b5a2d31301804200128c90330673867486762070a03796573103f62060a026e6f102868011240f24af4561b6b46a40152895ce64b6052c2e1c8bdd76461d2567f3e8183d036b297769a9aef0f3503116b1ffb1b31d1ba03f81f24fb3b0297cee4383c8a524b041a4031313836636664376432333634663839303331666432366334666136373839383930366134626332373235633131643732313733616533636432633634643461
4	1	2	1	\\x00554993adb2e0d0620c9fedfa86cf429a1ce0a55470f8f20d3d7b55a59fbcc9	\\xf9005fffa6e0bb4ef9023818731670f32a72dd7a16aff65c17f513f6977fff72	\\x860100006e00000000000000000000004600000028000000	\\x0a3c0a1373796e7468657469632d32722d3132702d733512054b5a2d313018012002288603306e386e486e62070a03796573104662060a026e6f102868011240441afd27d0d4c2fddf8ee4d06f37aa900993224bf37dea0d22fc362e6be822bff8ee3978c806a2c38d7f638405639f2176dc23c5c5ff459faebe6e9eb34b010d1a4031313836636664376432333634663839303331666432366334666136373839383930366134626332373235633131643732313733616533636432633634643461
5	1	2	4	\\xfe87549313f6dfef90dc75788aabeb3052009c6482a2be0a776d04009518162c	\\x373178f2e66495d45cffd0882ac4e48baa4e5234104a765547767d1c8a3157e2	\\x860100006e00000000000000000000004700000027000000	\\x0a3c0a1373796e7468657469632d32722d3132702d733512054b5a2d313018012002288603306e386e486e62070a03796573104762060a026e6f1027680112400574ffc2fe843c59ec4beeaae797fd48c13561f1eee20a793ef182e8e456c11c1d2017cd62aeb0dc9d84894017d42ae6cd8c1daab01072766bff87feeda2db061a4031313836636664376432333634663839303331666432366334666136373839383930366134626332373235633131643732313733616533636432633634643461
\.


--
-- Data for Name: log_head; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.log_head (id, next_leaf) FROM stdin;
1	6
\.


--
-- Data for Name: meta; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.meta (key, value) FROM stdin;
election_id	synthetic-2r-12p-s5
\.


--
-- Data for Name: schema_version; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.schema_version (version) FROM stdin;
1
2
\.


--
-- Data for Name: submissions; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.submissions (id, received_ms, peer_region, peer_node, seq, precinct, revision, outcome, reject_code, reason, leaf_index, signed, instance) FROM stdin;
1	1796513338986	KZ-10	node-a	1	1	1	1	0		0	\N	pg
2	1796513338990	KZ-10	node-a	2	2	1	1	0		1	\N	pg
3	1796513338991	KZ-10	node-a	3	3	1	1	0		2	\N	pg
4	1796513338992	KZ-10	node-a	4	4	1	1	0		3	\N	pg
5	1796513338997	KZ-10	node-a	5	1	2	1	0		4	\N	pg
6	1796513338997	KZ-10	node-a	6	1	2	4	0		5	\N	pg
7	1796513339001	KZ-10	node-a	7	5	1	0	7	ballots_received (90) != ballots_issued (80) + ballots_cancelled (0) = 80	\N	\\x0a3c0a1373796e7468657469632d32722d3132702d733512054b5a2d313018052001289312305a3850485a62070a03796573102d62060a026e6f102d68011240121a500dae5e543c358072c2e02422e825537350efbb4a06e28756d069cc96a5c0b2dfd4f57aec971b53fd28b413835b4788207b6d147a9e45689a5db138370d1a4031313836636664376432333634663839303331666432366334666136373839383930366134626332373235633131643732313733616533636432633634643461	pg
\.


--
-- Name: submissions_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.submissions_id_seq', 7, true);


--
-- Name: log_head log_head_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.log_head
    ADD CONSTRAINT log_head_pkey PRIMARY KEY (id);


--
-- Name: log log_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.log
    ADD CONSTRAINT log_pkey PRIMARY KEY (leaf_index);


--
-- Name: log log_precinct_payload_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.log
    ADD CONSTRAINT log_precinct_payload_hash_key UNIQUE (precinct, payload_hash);


--
-- Name: meta meta_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.meta
    ADD CONSTRAINT meta_pkey PRIMARY KEY (key);


--
-- Name: submissions submissions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.submissions
    ADD CONSTRAINT submissions_pkey PRIMARY KEY (id);


--
-- Name: submissions_by_precinct_id; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX submissions_by_precinct_id ON public.submissions USING btree (precinct, id) WHERE (precinct IS NOT NULL);


--
-- Name: submissions submissions_leaf_index_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.submissions
    ADD CONSTRAINT submissions_leaf_index_fkey FOREIGN KEY (leaf_index) REFERENCES public.log(leaf_index);


--
-- PostgreSQL database dump complete
--

\unrestrict ttvsq8rwJ8iRpuJHaYBtnJ81iCI0uZpKBZbCOIpeKhLVqyb6oqKSGAi8RFSamDW

