/*
 * i18n.js: every word the live page shows, one table per language (Kazakh,
 * Russian, English), and the helpers that pick a language, fill a template
 * and format numbers, percentages and times with the browser's Intl. No
 * other file holds a word meant for a reader: app.js and the drawing files
 * ask T.t("key", {params}) or T.fill(element, "key", {params}).
 *
 * A template's {name} is replaced by a parameter: a string, a number
 * (formatted per language) or a DOM node (inserted as is, e.g. a name
 * marked translate="no"). An entry may be an object of plural forms
 * ({one, few, many, other}) chosen by Intl.PluralRules on params.n.
 */
"use strict";

(function () {
	var T = (window.Tally = window.Tally || {});

	T.LANGS = ["kk", "ru", "en"];
	/* Each language's own name, shown on the switch in that language. */
	T.AUTONYMS = {kk: "Қазақша", ru: "Русский", en: "English"};

	var S = {};

	S.en = {
		docTitle: "Live: {title}",
		docTitleDefault: "Election results — live",
		titleDefault: "Referendum results",
		language: "Language",
		contests: "Contests",
		contestSelect: "Contest",
		asOf: "As of",
		sequence: "sequence",
		loading: "Loading…",
		live: "Live",
		liveQuiet: "Live · no new results for {n} min",
		stale: "Stale: no word from the server for {n} s",
		down: "Disconnected: reconnecting…",
		retry: "Disconnected: retrying in {n} s",
		degraded: "The aggregator cannot store results: nothing new is being acknowledged. The figures below are the last committed ones.",
		degradedReason: "Reason given by the server:",
		nationalResult: "National result",
		turnout: "Turnout",
		turnoutShort: "Turnout",
		castOfRegistered: "{cast} ballots cast of {registered} registered",
		precinctsReported: "Precincts reported",
		ofTotal: "{a} of {b}",
		reportedPct: "{pct} reported",
		invalidBallots: "invalid ballots {n}",
		notCounted: "not counted {n}",
		votes: {one: "{n} vote", other: "{n} votes"},
		pctOf_valid: "of valid votes",
		pctOf_ballots_cast: "of ballots cast",
		sharesOf_valid: "Shares of valid votes",
		sharesOf_ballots_cast: "Shares of ballots cast",
		barLabel: "{name}: {pct} {of}",
		decision: "Decision",
		st_none: "No rules",
		st_undetermined: "Not yet determined",
		st_passing: "Passing",
		st_failing: "Failing",
		ruleTurnout: "Turnout must be more than {min}: now {now}",
		ruleRegions: "{opt} needs more than half of the ballots cast in at least {frac} of the regions: now in {n} of {m}",
		rulePlurality: "The candidate with the most votes wins",
		ruleMajority_valid: "Winning in the first round takes more than half of the valid votes; otherwise the two leaders go to a runoff",
		ruleMajority_ballots_cast: "Winning in the first round takes more than half of the ballots cast; otherwise the two leaders go to a runoff",
		ruleThreshold: "Lists need at least {pct} {of} to win seats; {method}; {tie}",
		m_hare: "largest remainder (Hare quota)",
		m_dhondt: "D’Hondt method",
		m_sainte_lague: "Sainte-Laguë method",
		tie_ballot_order: "equal claims go to the list higher on the ballot",
		tie_lot: "equal claims are decided by lot",
		regions: "Regions",
		region: "Region",
		reported: "Reported",
		leader: "Leader",
		conflicts: "Conflicts",
		regionsCaption: "Results by region; activate a column heading to sort.",
		issues: "Conflicts and rejections",
		latestRejections: "Latest rejections",
		none: "None.",
		conflictLine: "Precinct {p} ({region}): revision {rev}, {copies}",
		copies: {one: "{n} conflicting copy", other: "{n} conflicting copies"},
		andMore: "… and {n} more",
		regionConflicts: {one: "{region}: {n} precinct in conflict", other: "{region}: {n} precincts in conflict"},
		precinct: "precinct {p}",
		rejectedBy: "rejected: {code}",
		rc_MALFORMED: "malformed protocol",
		rc_BAD_SIGNATURE: "bad signature",
		rc_UNKNOWN_KEY: "unknown key",
		rc_WRONG_REGION: "wrong region",
		rc_WRONG_ELECTION: "wrong election",
		rc_UNKNOWN_PRECINCT: "unknown precinct",
		rc_FAILED_CONTROL: "control figures do not add up",
		rc_CONFLICT_LIMIT: "too many conflicting copies",
		rc_UNKNOWN_CONTEST: "unknown contest",
		rc_NOT_IN_CONTEST: "precinct not in that contest",
		rc_other: "rejected",
		/* party lists */
		seats: "Seats",
		seatsN: {one: "{n} seat", other: "{n} seats"},
		seatsOf: "{n} of {m} seats",
		provisional: "provisional",
		final: "final",
		provisionalNote: "Provisional: the seats if counting stopped now.",
		finalNote: "Final allocation.",
		threshold: "Threshold {pct}",
		belowThreshold: "below the threshold: no seats",
		againstAllList: "against all: not seated",
		tieSeats: {one: "{n} seat is left to a drawing of lots between {list}.", other: "{n} seats are left to a drawing of lots between {list}."},
		lotSeat: "to be drawn by lot",
		vacantSeats: {one: "{n} seat stays vacant: the lists are too short.", other: "{n} seats stay vacant: the lists are too short."},
		vacant: "vacant",
		seatChartAlt: "Seat chart, {total} seats ({status}): {list}.",
		listSep: ", ",
		listAnd: " and ",
		/* candidates */
		majorityLine_valid: "Half of valid votes",
		majorityLine_ballots_cast: "Half of ballots cast",
		elected: "elected",
		leading: "leading",
		runoff: "Runoff: {a} and {b}",
		cs_undetermined: "Counting: no winner yet",
		cs_elected: "Elected: {list}",
		cs_runoff: "A runoff is certain",
		cs_tie: "Tie between {list}: to be decided by lot",
		cs_failed: "Nobody is elected",
		cs_failedAgainst: "Nobody is elected: “against all” has the most votes",
		againstAllCand: "against all: never elected",
		selfNominated: "self-nominated",
		/* districts */
		districts: "Districts",
		districtsTitle: "Single-mandate districts",
		district: "District",
		margin: "Margin",
		status: "Status",
		marginPts: "{pts} pts",
		ds_counting: "counting",
		ds_elected: "elected",
		ds_tie: "tie: lot",
		ds_failed: "nobody elected",
		ds_runoff: "runoff",
		ds_undetermined: "counting",
		ds_noData: "no results yet",
		districtsDecided: "{n} of {m} districts decided",
		electedSoFar: "Elected so far",
		noneElected: "Nobody elected yet.",
		allDistricts: "All districts",
		filterRegion: "Region",
		allRegions: "All regions",
		sortBy: "Sort by",
		districtsCaption: "Single-mandate districts: leader, margin over the runner-up, precincts reported and status; activate a column heading to sort.",
		noParty: "no party",
		noDistricts: "No district in this region.",
		/* map */
		map: "Map",
		colourBy: "Colour by",
		byLeader: "leader",
		byTurnout: "turnout",
		byDistricts: "districts led",
		legendNoData: "no results yet",
		legendNoDistricts: "no single-mandate district",
		legendMixed: "even",
		mapNote: "Every figure on the map is also in the table below.",
		mapHint: "Choose a region to see its figures.",
		tileLabel: "{region}: {what}",
		leaderIs: "leader {name} {pct}",
		turnoutIs: "turnout {pct}",
		districtsLedBy: "most districts led by {name}",
		noDataYet: "no results yet",
		regionWords: ["Region", "City"],
		/* trend */
		trend: "The night’s trend",
		trendReported: "Precincts reported",
		trendSummary: "From {t0} to {t1}: {pct} of precincts reported; {leaders}.",
		trendEmpty: "No trend yet.",
		trendAxis: "Share, %",
	};

	S.ru = {
		docTitle: "Онлайн: {title}",
		docTitleDefault: "Итоги выборов — онлайн",
		titleDefault: "Итоги референдума",
		language: "Язык",
		contests: "Голосования",
		contestSelect: "Голосование",
		asOf: "Данные на",
		sequence: "запись №",
		loading: "Загрузка…",
		live: "Онлайн",
		liveQuiet: "Онлайн · новых результатов нет {n} мин",
		stale: "Данные устарели: сервер молчит {n} с",
		down: "Нет связи: переподключение…",
		retry: "Нет связи: повтор через {n} с",
		degraded: "Агрегатор не может сохранять результаты: новые протоколы не подтверждаются. Ниже — последние сохранённые данные.",
		degradedReason: "Причина по данным сервера:",
		nationalResult: "Итоги по стране",
		turnout: "Явка",
		turnoutShort: "Явка",
		castOfRegistered: "проголосовали {cast} из {registered} избирателей в списках",
		precinctsReported: "Поступили данные участков",
		ofTotal: "{a} из {b}",
		reportedPct: "обработано {pct}",
		invalidBallots: "недействительных бюллетеней {n}",
		notCounted: "не учтено {n}",
		votes: {one: "{n} голос", few: "{n} голоса", many: "{n} голосов", other: "{n} голоса"},
		pctOf_valid: "от действительных голосов",
		pctOf_ballots_cast: "от числа проголосовавших",
		sharesOf_valid: "Доли от действительных голосов",
		sharesOf_ballots_cast: "Доли от числа проголосовавших",
		barLabel: "{name}: {pct} {of}",
		decision: "Решение",
		st_none: "Правил нет",
		st_undetermined: "Пока не определено",
		st_passing: "Принимается",
		st_failing: "Не принимается",
		ruleTurnout: "Явка должна превысить {min}: сейчас {now}",
		ruleRegions: "{opt}: нужно более половины голосов не менее чем в {frac} регионов; сейчас в {n} из {m}",
		rulePlurality: "Побеждает кандидат, набравший больше всего голосов",
		ruleMajority_valid: "Для победы в первом туре нужно более половины действительных голосов; иначе два лидера выходят во второй тур",
		ruleMajority_ballots_cast: "Для победы в первом туре нужно более половины голосов проголосовавших; иначе два лидера выходят во второй тур",
		ruleThreshold: "Списки получают мандаты, набрав не менее {pct} {of}; {method}; {tie}",
		m_hare: "метод наибольших остатков (квота Хэйра)",
		m_dhondt: "метод Д’Онта",
		m_sainte_lague: "метод Сент-Лагю",
		tie_ballot_order: "при равенстве — список, стоящий выше в бюллетене",
		tie_lot: "при равенстве решает жребий",
		regions: "Регионы",
		region: "Регион",
		reported: "Участки",
		leader: "Лидер",
		conflicts: "Конфликты",
		regionsCaption: "Итоги по регионам; чтобы отсортировать, выберите заголовок столбца.",
		issues: "Конфликты и отклонённые протоколы",
		latestRejections: "Последние отклонённые",
		none: "Нет.",
		conflictLine: "Участок №{p} ({region}): версия {rev}, {copies}",
		copies: {one: "{n} противоречащая копия", few: "{n} противоречащие копии", many: "{n} противоречащих копий", other: "{n} противоречащей копии"},
		andMore: "… и ещё {n}",
		regionConflicts: {one: "{region}: {n} участок с конфликтом", few: "{region}: {n} участка с конфликтом", many: "{region}: {n} участков с конфликтом", other: "{region}: {n} участка с конфликтом"},
		precinct: "участок №{p}",
		rejectedBy: "отклонён: {code}",
		rc_MALFORMED: "повреждённый протокол",
		rc_BAD_SIGNATURE: "неверная подпись",
		rc_UNKNOWN_KEY: "неизвестный ключ",
		rc_WRONG_REGION: "не тот регион",
		rc_WRONG_ELECTION: "не те выборы",
		rc_UNKNOWN_PRECINCT: "неизвестный участок",
		rc_FAILED_CONTROL: "не сходятся контрольные соотношения",
		rc_CONFLICT_LIMIT: "слишком много противоречащих копий",
		rc_UNKNOWN_CONTEST: "неизвестное голосование",
		rc_NOT_IN_CONTEST: "участок не участвует в этом голосовании",
		rc_other: "отклонён",
		seats: "Мандаты",
		seatsN: {one: "{n} мандат", few: "{n} мандата", many: "{n} мандатов", other: "{n} мандата"},
		seatsOf: "{n} из {m} мандатов",
		provisional: "предварительно",
		final: "окончательно",
		provisionalNote: "Предварительно: распределение, если бы подсчёт закончился сейчас.",
		finalNote: "Окончательное распределение.",
		threshold: "Барьер {pct}",
		belowThreshold: "ниже барьера: без мандатов",
		againstAllList: "против всех: мандатов не получает",
		tieSeats: {one: "{n} мандат будет разыгран жребием между {list}.", few: "{n} мандата будут разыграны жребием между {list}.", many: "{n} мандатов будут разыграны жребием между {list}.", other: "{n} мандата будут разыграны жребием между {list}."},
		lotSeat: "решит жребий",
		vacantSeats: {one: "{n} мандат остаётся вакантным: в списках не хватает кандидатов.", few: "{n} мандата остаются вакантными: в списках не хватает кандидатов.", many: "{n} мандатов остаются вакантными: в списках не хватает кандидатов.", other: "{n} мандата остаются вакантными: в списках не хватает кандидатов."},
		vacant: "вакантно",
		seatChartAlt: "Распределение мандатов, всего {total} ({status}): {list}.",
		listSep: ", ",
		listAnd: " и ",
		majorityLine_valid: "Половина действительных голосов",
		majorityLine_ballots_cast: "Половина числа проголосовавших",
		elected: "избран",
		leading: "лидирует",
		runoff: "Второй тур: {a} и {b}",
		cs_undetermined: "Идёт подсчёт: победитель пока не определён",
		cs_elected: "Избран: {list}",
		cs_runoff: "Второй тур неизбежен",
		cs_tie: "Равенство голосов: {list}; решит жребий",
		cs_failed: "Никто не избран",
		cs_failedAgainst: "Никто не избран: больше всего голосов «против всех»",
		againstAllCand: "против всех: не избирается",
		selfNominated: "самовыдвижение",
		districts: "Округа",
		districtsTitle: "Одномандатные округа",
		district: "Округ",
		margin: "Отрыв",
		status: "Статус",
		marginPts: "{pts} п. п.",
		ds_counting: "подсчёт",
		ds_elected: "избран",
		ds_tie: "равенство: жребий",
		ds_failed: "никто не избран",
		ds_runoff: "второй тур",
		ds_undetermined: "подсчёт",
		ds_noData: "данных нет",
		districtsDecided: "Решено в {n} из {m} округов",
		electedSoFar: "Уже избраны",
		noneElected: "Пока никто не избран.",
		allDistricts: "Все округа",
		filterRegion: "Регион",
		allRegions: "Все регионы",
		sortBy: "Сортировка",
		districtsCaption: "Одномандатные округа: лидер, отрыв от второго, поступившие участки и статус; чтобы отсортировать, выберите заголовок столбца.",
		noParty: "без партии",
		noDistricts: "В этом регионе нет округов.",
		map: "Карта",
		colourBy: "Цвет",
		byLeader: "лидер",
		byTurnout: "явка",
		byDistricts: "лидеры в округах",
		legendNoData: "данных нет",
		legendNoDistricts: "нет одномандатных округов",
		legendMixed: "поровну",
		mapNote: "Все данные карты есть и в таблице ниже.",
		mapHint: "Выберите регион, чтобы увидеть его данные.",
		tileLabel: "{region}: {what}",
		leaderIs: "лидер {name} {pct}",
		turnoutIs: "явка {pct}",
		districtsLedBy: "в большинстве округов лидирует {name}",
		noDataYet: "данных пока нет",
		regionWords: ["область", "город"],
		trend: "Ход подсчёта",
		trendReported: "Поступили данные участков",
		trendSummary: "С {t0} до {t1}: поступили данные {pct} участков; {leaders}.",
		trendEmpty: "Данных о ходе подсчёта пока нет.",
		trendAxis: "Доля, %",
	};

	S.kk = {
		docTitle: "Тікелей: {title}",
		docTitleDefault: "Сайлау нәтижелері — тікелей",
		titleDefault: "Референдум нәтижелері",
		language: "Тіл",
		contests: "Дауыс берулер",
		contestSelect: "Дауыс беру",
		asOf: "Деректер уақыты",
		sequence: "жазба №",
		loading: "Жүктелуде…",
		live: "Тікелей",
		liveQuiet: "Тікелей · {n} минуттан бері жаңа нәтиже жоқ",
		stale: "Деректер ескірді: сервер {n} с бойы үнсіз",
		down: "Байланыс жоқ: қайта қосылуда…",
		retry: "Байланыс жоқ: {n} с кейін қайта қосылады",
		degraded: "Агрегатор нәтижелерді сақтай алмай тұр: жаңа хаттамалар расталмайды. Төменде соңғы сақталған деректер.",
		degradedReason: "Сервер көрсеткен себеп:",
		nationalResult: "Ел бойынша нәтиже",
		turnout: "Сайлаушылардың қатысуы",
		turnoutShort: "Қатысу",
		castOfRegistered: "тізімдегі {registered} сайлаушының {cast} дауыс берді",
		precinctsReported: "Деректері түскен учаскелер",
		ofTotal: "{b} ішінен {a}",
		reportedPct: "{pct} өңделді",
		invalidBallots: "жарамсыз бюллетеньдер {n}",
		notCounted: "есепке алынбағаны {n}",
		votes: {other: "{n} дауыс"},
		pctOf_valid: "жарамды дауыстардан",
		pctOf_ballots_cast: "дауыс бергендер санынан",
		sharesOf_valid: "Жарамды дауыстардағы үлес",
		sharesOf_ballots_cast: "Дауыс бергендер санындағы үлес",
		barLabel: "{name}: {of} {pct}",
		decision: "Шешім",
		st_none: "Ережелер жоқ",
		st_undetermined: "Әлі анықталған жоқ",
		st_passing: "Қабылданады",
		st_failing: "Қабылданбайды",
		ruleTurnout: "Қатысу {min} деңгейінен асуы керек: қазір {now}",
		ruleRegions: "{opt} өңірлердің кемінде {frac} бөлігінде дауыстардың жартысынан астамын алуы керек: қазір осындай өңірлер {m} ішінен {n}",
		rulePlurality: "Ең көп дауыс алған кандидат жеңеді",
		ruleMajority_valid: "Бірінші турда жеңу үшін жарамды дауыстардың жартысынан астамы керек; әйтпесе алғашқы екеуі екінші турға шығады",
		ruleMajority_ballots_cast: "Бірінші турда жеңу үшін дауыс бергендердің жартысынан астамы керек; әйтпесе алғашқы екеуі екінші турға шығады",
		ruleThreshold: "Тізімдер {of} кемінде {pct} алса ғана мандат алады; {method}; {tie}",
		m_hare: "ең үлкен қалдық әдісі (Хэйр квотасы)",
		m_dhondt: "Д’Онт әдісі",
		m_sainte_lague: "Сент-Лагю әдісі",
		tie_ballot_order: "тең болса, бюллетеньде жоғары тұрған тізім алады",
		tie_lot: "тең болса, жеребе шешеді",
		regions: "Өңірлер",
		region: "Өңір",
		reported: "Учаскелер",
		leader: "Көшбасшы",
		conflicts: "Қайшылықтар",
		regionsCaption: "Өңірлер бойынша нәтижелер; сұрыптау үшін баған тақырыбын таңдаңыз.",
		issues: "Қайшылықтар және қабылданбаған хаттамалар",
		latestRejections: "Соңғы қабылданбағандар",
		none: "Жоқ.",
		conflictLine: "№{p} учаске ({region}): {rev}-нұсқа, {copies}",
		copies: {other: "{n} қайшы көшірме"},
		andMore: "… және тағы {n}",
		regionConflicts: {other: "{region}: қайшылығы бар {n} учаске"},
		precinct: "№{p} учаске",
		rejectedBy: "қабылданбады: {code}",
		rc_MALFORMED: "хаттама бүлінген",
		rc_BAD_SIGNATURE: "қолтаңба жарамсыз",
		rc_UNKNOWN_KEY: "белгісіз кілт",
		rc_WRONG_REGION: "басқа өңір",
		rc_WRONG_ELECTION: "басқа сайлау",
		rc_UNKNOWN_PRECINCT: "белгісіз учаске",
		rc_FAILED_CONTROL: "бақылау қатынастары сәйкес емес",
		rc_CONFLICT_LIMIT: "қайшы көшірмелер тым көп",
		rc_UNKNOWN_CONTEST: "белгісіз дауыс беру",
		rc_NOT_IN_CONTEST: "учаске бұл дауыс беруге қатыспайды",
		rc_other: "қабылданбады",
		seats: "Мандаттар",
		seatsN: {other: "{n} мандат"},
		seatsOf: "{m} ішінен {n} мандат",
		provisional: "алдын ала",
		final: "түпкілікті",
		provisionalNote: "Алдын ала: санау қазір аяқталса, мандаттар осылай бөлінер еді.",
		finalNote: "Түпкілікті бөлу.",
		threshold: "Өту шегі {pct}",
		belowThreshold: "өту шегінен төмен: мандат жоқ",
		againstAllList: "бәріне қарсы: мандат берілмейді",
		tieSeats: {other: "{n} мандат {list} арасында жеребе арқылы анықталады."},
		lotSeat: "жеребе шешеді",
		vacantSeats: {other: "{n} мандат бос қалады: тізімдерде кандидат жетпейді."},
		vacant: "бос",
		seatChartAlt: "Мандаттардың бөлінуі, барлығы {total} ({status}): {list}.",
		listSep: ", ",
		listAnd: " және ",
		majorityLine_valid: "Жарамды дауыстардың жартысы",
		majorityLine_ballots_cast: "Дауыс бергендердің жартысы",
		elected: "сайланды",
		leading: "алда",
		runoff: "Екінші тур: {a} және {b}",
		cs_undetermined: "Санау жүріп жатыр: жеңімпаз әлі белгісіз",
		cs_elected: "Сайланды: {list}",
		cs_runoff: "Екінші тур болатыны анық",
		cs_tie: "Дауыстар тең: {list}; жеребе шешеді",
		cs_failed: "Ешкім сайланған жоқ",
		cs_failedAgainst: "Ешкім сайланған жоқ: ең көп дауыс «бәріне қарсы»",
		againstAllCand: "бәріне қарсы: ешқашан сайланбайды",
		selfNominated: "өзін-өзі ұсынған",
		districts: "Округтер",
		districtsTitle: "Бір мандатты округтер",
		district: "Округ",
		margin: "Айырма",
		status: "Мәртебесі",
		marginPts: "{pts} п. т.",
		ds_counting: "санау",
		ds_elected: "сайланды",
		ds_tie: "тең: жеребе",
		ds_failed: "ешкім сайланбады",
		ds_runoff: "екінші тур",
		ds_undetermined: "санау",
		ds_noData: "деректер жоқ",
		districtsDecided: "Шешілген округтер: {m} ішінен {n}",
		electedSoFar: "Сайланғандар",
		noneElected: "Әзірге ешкім сайланған жоқ.",
		allDistricts: "Барлық округтер",
		filterRegion: "Өңір",
		allRegions: "Барлық өңірлер",
		sortBy: "Сұрыптау",
		districtsCaption: "Бір мандатты округтер: көшбасшы, екінші орыннан айырма, деректері түскен учаскелер және мәртебесі; сұрыптау үшін баған тақырыбын таңдаңыз.",
		noParty: "партиясыз",
		noDistricts: "Бұл өңірде округ жоқ.",
		map: "Карта",
		colourBy: "Түсі",
		byLeader: "көшбасшы",
		byTurnout: "қатысу",
		byDistricts: "округтердегі көшбасшылар",
		legendNoData: "деректер жоқ",
		legendNoDistricts: "бір мандатты округ жоқ",
		legendMixed: "тең",
		mapNote: "Картадағы барлық дерек төмендегі кестеде де бар.",
		mapHint: "Деректерін көру үшін өңірді таңдаңыз.",
		tileLabel: "{region}: {what}",
		leaderIs: "көшбасшы {name} {pct}",
		turnoutIs: "қатысу {pct}",
		districtsLedBy: "округтердің көбінде {name} алда",
		noDataYet: "әзірге деректер жоқ",
		regionWords: ["облысы", "қаласы"],
		trend: "Санау барысы",
		trendReported: "Деректері түскен учаскелер",
		trendSummary: "{t0}–{t1} аралығында: учаскелердің {pct} деректері түсті; {leaders}.",
		trendEmpty: "Санау барысы туралы деректер әзірге жоқ.",
		trendAxis: "Үлес, %",
	};

	T.strings = S;

	/* ---- the language ---- */

	var STORE_KEY = "tally.lang";

	function fromUrl() {
		var m = /[?&]lang=([a-z]{2})\b/.exec(location.search);
		return m && S[m[1]] ? m[1] : null;
	}

	function fromStore() {
		try {
			var v = window.localStorage.getItem(STORE_KEY);
			return v && S[v] ? v : null;
		} catch (e) {
			return null;
		}
	}

	/* The first of the browser's languages the page has; Kazakh if none. */
	function fromBrowser() {
		var list = navigator.languages && navigator.languages.length ? navigator.languages
		                                                              : [navigator.language || ""];
		for (var i = 0; i < list.length; i++) {
			var tag = String(list[i]).toLowerCase().split("-")[0];
			if (S[tag])
				return tag;
		}
		return "kk";
	}

	T.lang = fromUrl() || fromStore() || fromBrowser();

	T.setLang = function (lang, remember) {
		if (!S[lang])
			return;
		T.lang = lang;
		setupFormats();
		if (remember) {
			try {
				window.localStorage.setItem(STORE_KEY, lang);
			} catch (e) {
				/* Private mode: the choice lasts for this visit only. */
			}
		}
	};

	/* ---- formatting with Intl ---- */

	/*
	 * A browser may know a language's name but lack its number and date
	 * conventions (it then formats as in English). Kazakh is written with
	 * the conventions Russian uses in Kazakhstan, so a browser without
	 * Kazakh data formats Kazakh figures as ru-KZ.
	 */
	var LOCALES = {kk: ["kk-KZ", "ru-KZ"], ru: ["ru-KZ", "ru"], en: ["en-GB", "en"]};
	var fmt = {};

	function hasOwnData(locale) {
		try {
			var probe = new Intl.NumberFormat(locale).format(1234.5);
			return probe !== "1,234.5" || locale.indexOf("en") === 0;
		} catch (e) {
			return false;
		}
	}

	function setupFormats() {
		var cands = LOCALES[T.lang];
		var loc = cands[cands.length - 1];
		for (var i = 0; i < cands.length; i++)
			if (hasOwnData(cands[i])) {
				loc = cands[i];
				break;
			}
		T.locale = loc;
		fmt.num = new Intl.NumberFormat(loc);
		fmt.pct = new Intl.NumberFormat(loc, {style: "percent", minimumFractionDigits: 2,
		                                      maximumFractionDigits: 2});
		fmt.pct0 = new Intl.NumberFormat(loc, {style: "percent", maximumFractionDigits: 0});
		fmt.dec = new Intl.NumberFormat(loc, {minimumFractionDigits: 2, maximumFractionDigits: 2});
		fmt.dateTime = new Intl.DateTimeFormat(loc, {year: "numeric", month: "2-digit", day: "2-digit",
		                                             hour: "2-digit", minute: "2-digit",
		                                             second: "2-digit", hourCycle: "h23"});
		fmt.time = new Intl.DateTimeFormat(loc, {hour: "2-digit", minute: "2-digit", hourCycle: "h23"});
		fmt.timeSec = new Intl.DateTimeFormat(loc, {hour: "2-digit", minute: "2-digit",
		                                            second: "2-digit", hourCycle: "h23"});
		fmt.plural = new Intl.PluralRules(loc);
	}
	setupFormats();

	function finite(n) {
		return typeof n === "number" && isFinite(n);
	}

	T.num = function (n) {
		return finite(n) ? fmt.num.format(n) : "—";
	};
	/* p is a percentage as the API gives it (53.9 for 53.9 %). */
	T.pct = function (p) {
		return finite(p) ? fmt.pct.format(p / 100) : "—";
	};
	T.pct0 = function (p) {
		return finite(p) ? fmt.pct0.format(p / 100) : "—";
	};
	T.dec = function (n) {
		return finite(n) ? fmt.dec.format(n) : "—";
	};
	T.dateTime = function (d) {
		return fmt.dateTime.format(d);
	};
	T.time = function (d) {
		return fmt.time.format(d);
	};
	T.timeSec = function (d) {
		return fmt.timeSec.format(d);
	};

	/* ---- lookup and templates ---- */

	function entry(key, params) {
		var table = S[T.lang];
		var v = key in table ? table[key] : S.en[key];
		if (v && typeof v === "object" && !Array.isArray(v)) {
			var n = params && finite(params.n) ? params.n : 0;
			var form = fmt.plural.select(n);
			v = v[form] || v.other;
		}
		return v === undefined ? key : v;
	}

	T.words = function (key) {
		var v = S[T.lang][key];
		return Array.isArray(v) ? v : [];
	};

	function value(p) {
		return typeof p === "number" ? T.num(p) : p;
	}

	/* The text of key with its parameters (nodes become their text). */
	T.t = function (key, params) {
		var s = String(entry(key, params));
		return s.replace(/\{(\w+)\}/g, function (all, name) {
			if (!params || !(name in params))
				return all;
			var v = value(params[name]);
			return v && v.nodeType ? v.textContent : String(v);
		});
	};

	/* Replaces el's children with key's template, parameters as text or nodes. */
	T.fill = function (el, key, params) {
		var s = String(entry(key, params));
		var parts = s.split(/(\{\w+\})/);
		var frag = document.createDocumentFragment();
		parts.forEach(function (part) {
			var m = /^\{(\w+)\}$/.exec(part);
			if (m && params && m[1] in params) {
				var v = value(params[m[1]]);
				frag.appendChild(v && v.nodeType ? v : document.createTextNode(String(v)));
			} else if (part) {
				frag.appendChild(document.createTextNode(part));
			}
		});
		while (el.firstChild)
			el.removeChild(el.firstChild);
		el.appendChild(frag);
		return el;
	};

	/* "A, B and C" with nodes or strings. */
	T.list = function (items) {
		var frag = document.createDocumentFragment();
		items.forEach(function (it, i) {
			if (i > 0)
				frag.appendChild(document.createTextNode(
					i === items.length - 1 ? T.t("listAnd") : T.t("listSep")));
			frag.appendChild(typeof it === "string" ? document.createTextNode(it) : it);
		});
		return frag;
	};

	/*
	 * A name from the definition in the page's language: names[lang], then
	 * (for Kazakh) Russian, which every reader in Kazakhstan also reads,
	 * then the default text. Returns {text, lang} (lang "" when unknown).
	 */
	T.nameOf = function (obj, fallback) {
		if (!obj)
			return {text: fallback || "?", lang: ""};
		var names = obj.names || obj.titles;
		var order = T.lang === "kk" ? ["kk", "ru"] : [T.lang];
		if (names && typeof names === "object")
			for (var i = 0; i < order.length; i++)
				if (typeof names[order[i]] === "string" && names[order[i]])
					return {text: names[order[i]], lang: order[i]};
		var text = obj.name || obj.title || obj.id || fallback || "?";
		return {text: String(text), lang: ""};
	};

	/* A <span translate="no"> holding a definition's name (never translated). */
	T.nameEl = function (obj, fallback, tag) {
		var n = T.nameOf(obj, fallback);
		var el = document.createElement(tag || "span");
		el.setAttribute("translate", "no");
		el.className = "nm";
		if (n.lang)
			el.setAttribute("lang", n.lang);
		el.textContent = n.text;
		return el;
	};
})();
